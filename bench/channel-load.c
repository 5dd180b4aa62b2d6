/*
 * Closed-loop load for the message-channel benchmark (examples/bench-channels.ts),
 * in C so the load side costs far less CPU than the servers it measures: with
 * a Node client on a 2-core machine the client saturates first and every
 * server looks the same.
 *
 *   channel-load udp  PORT [-c sockets] [-w window] [-s size] [-d seconds]
 *   channel-load line PORT [-c conns]   [-w window] [-d seconds]
 *
 * udp:  each socket keeps `window` datagrams of `size` bytes in flight; each
 *       carries a sequence number, and every reply must be the next one, whole.
 * line: each connection keeps `window` lines "line N of the benchmark\n" in
 *       flight; every reply must be "You said line N of the benchmark\n", in order.
 *
 * Prints the replies per second on stdout. Exits 1 on a wrong, reordered or
 * lost reply (no progress for 3 s), so a server that drops or corrupts cannot
 * look fast.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 256
#define BATCH 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "channel-load: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

struct peer {
  int fd;
  uint32_t sent, want; /* next sequence number to send / to receive */
  char in[65536];
  size_t inlen;
};

static struct peer peers[MAXC];
static int nconn = 4, window = 32, size = 64, seconds = 3;
static struct sockaddr_in server;

static int udp_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) die("connect");
  return fd;
}

/* Sends `n` datagrams on p with sendmmsg. */
static void udp_send(struct peer *p, int n) {
  static char bufs[BATCH][65536];
  struct mmsghdr m[BATCH];
  struct iovec iov[BATCH];
  while (n > 0) {
    int k = n < BATCH ? n : BATCH;
    for (int i = 0; i < k; i++) {
      memset(bufs[i], 'x', size);
      uint32_t seq = htonl(p->sent + i);
      memcpy(bufs[i], &seq, 4);
      iov[i] = (struct iovec){bufs[i], size};
      m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    int r = sendmmsg(p->fd, m, k, 0);
    if (r < 0) die("sendmmsg");
    p->sent += r;
    n -= r;
  }
}

/* Reads every datagram waiting on p; returns how many, or -1 on a wrong one. */
static int udp_recv(struct peer *p) {
  static char bufs[BATCH][65536];
  struct mmsghdr m[BATCH];
  struct iovec iov[BATCH];
  int got = 0;
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
      m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    int r = recvmmsg(p->fd, m, BATCH, MSG_DONTWAIT, NULL);
    if (r < 0) {
      if (errno == EAGAIN) return got;
      die("recvmmsg");
    }
    for (int i = 0; i < r; i++) {
      uint32_t seq;
      memcpy(&seq, bufs[i], 4);
      if ((int)m[i].msg_len != size || ntohl(seq) != p->want) {
        fprintf(stderr, "channel-load: udp: wrong or reordered reply (len %u, seq %u, want %u)\n", m[i].msg_len, ntohl(seq), p->want);
        return -1;
      }
      p->want++;
    }
    got += r;
  }
}

static int tcp_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Writes `n` lines on p in one write (blocking fd: the kernel takes them whole). */
static void line_send(struct peer *p, int n) {
  static char out[1 << 16];
  size_t len = 0;
  for (int i = 0; i < n; i++) len += sprintf(out + len, "line %u of the benchmark\n", p->sent++);
  for (size_t off = 0; off < len;) {
    ssize_t w = write(p->fd, out + off, len - off);
    if (w < 0) die("write");
    off += w;
  }
}

/* Reads what is there and checks each complete reply line; returns how many, or -1. */
static int line_recv(struct peer *p) {
  ssize_t r = recv(p->fd, p->in + p->inlen, sizeof p->in - p->inlen, MSG_DONTWAIT);
  if (r < 0) {
    if (errno == EAGAIN) return 0;
    die("recv");
  }
  if (r == 0) {
    fprintf(stderr, "channel-load: line: the server closed the connection\n");
    return -1;
  }
  p->inlen += r;
  int got = 0;
  char *start = p->in, *end = p->in + p->inlen, *nl;
  char want[80];
  while ((nl = memchr(start, '\n', end - start)) != NULL) {
    int wl = sprintf(want, "You said line %u of the benchmark", p->want);
    if (nl - start != wl || memcmp(start, want, wl) != 0) {
      fprintf(stderr, "channel-load: line: wrong reply '%.*s', want '%s'\n", (int)(nl - start), start, want);
      return -1;
    }
    p->want++;
    got++;
    start = nl + 1;
  }
  p->inlen = end - start;
  memmove(p->in, start, p->inlen);
  return got;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: channel-load udp|line PORT [-c n] [-w window] [-s size] [-d seconds]\n");
    return 2;
  }
  int udp = strcmp(argv[1], "udp") == 0;
  if (!udp) nconn = 20;
  server.sin_family = AF_INET;
  server.sin_port = htons(atoi(argv[2]));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 3; i + 1 < argc; i += 2) {
    int v = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "-c")) nconn = v;
    else if (!strcmp(argv[i], "-w")) window = v;
    else if (!strcmp(argv[i], "-s")) size = v;
    else if (!strcmp(argv[i], "-d")) seconds = v;
  }
  if (nconn < 1 || nconn > MAXC || window < 1 || window > 1024 || size < 4 || size > 65507) {
    fprintf(stderr, "channel-load: bad arguments\n");
    return 2;
  }
  int ep = epoll_create1(0);
  for (int i = 0; i < nconn; i++) {
    peers[i].fd = udp ? udp_socket() : tcp_socket();
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, peers[i].fd, &ev) < 0) die("epoll_ctl");
    if (udp) udp_send(&peers[i], window);
    else line_send(&peers[i], window);
  }
  double start = now(), end = start + seconds, last = start;
  long total = 0;
  int outstanding = nconn;
  struct epoll_event evs[MAXC];
  while (outstanding > 0) {
    int n = epoll_wait(ep, evs, MAXC, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    double t = now();
    if (n <= 0 && t - last > 3) {
      fprintf(stderr, "channel-load: no reply for 3 s: %s lost\n", udp ? "datagrams" : "lines");
      return 1;
    }
    for (int e = 0; e < n; e++) {
      struct peer *p = &peers[evs[e].data.u32];
      int got = udp ? udp_recv(p) : line_recv(p);
      if (got < 0) return 1;
      if (got == 0) continue;
      last = t;
      if (t < end) {
        total += got;
        if (udp) udp_send(p, got);
        else line_send(p, got);
      } else if (p->want == p->sent && p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
        outstanding--;
      }
    }
    if (t >= end + 5) {
      fprintf(stderr, "channel-load: replies still missing 5 s after the end\n");
      return 1;
    }
  }
  printf("%.0f\n", total / (end - start));
  return 0;
}
