/**
 * Tools the tests need from the system (installed by `.ci/run` as Debian
 * packages), so a suite can say why it skips instead of failing obscurely.
 */
import { execFileSync } from 'node:child_process'

/** True when `cmd --version` runs. */
export function hasTool(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
