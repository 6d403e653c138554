/* Floor of the peer benchmark: the least a process can do to have a model file's bytes in hand.
 *
 *   touch MODE FILE
 *     mmap-page  map the file read-only and read one byte of every 4 KiB page
 *     mmap-byte  map the file read-only and read every byte (summed as 64-bit words)
 *     read       read() the whole file into a fresh malloc'd buffer
 *
 * Prints one JSON line with the same clocks as `kerasrt bench --json`: op_* is the operation alone,
 * process_* counts from the process's start (field 22 of /proc/self/stat against CLOCK_BOOTTIME;
 * CPU is CLOCK_PROCESS_CPUTIME_ID), peak_rss_kb is ru_maxrss. Built by run.py with `cc -O2`. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double ms_since_process_start(void) {
  char buf[4096];
  FILE* f = fopen("/proc/self/stat", "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2; /* field 3 starts here */
  unsigned long long start = 0;
  for (int field = 3; field <= 22 && *p; ++field) {
    if (field == 22) start = strtoull(p, NULL, 10);
    while (*p && *p != ' ') ++p;
    while (*p == ' ') ++p;
  }
  return clock_ms(CLOCK_BOOTTIME) - start * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: touch mmap-page|mmap-byte|read FILE\n");
    return 2;
  }
  const char* mode = argv[1];
  double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
  int fd = open(argv[2], O_RDONLY);
  if (fd < 0) {
    perror(argv[2]);
    return 1;
  }
  struct stat st;
  fstat(fd, &st);
  size_t size = (size_t)st.st_size;
  uint64_t sum = 0;
  if (strcmp(mode, "read") == 0) {
    char* buf = malloc(size ? size : 1);
    size_t done = 0;
    while (done < size) {
      ssize_t r = read(fd, buf + done, size - done);
      if (r <= 0) {
        perror("read");
        return 1;
      }
      done += (size_t)r;
    }
    sum = (uint8_t)buf[size / 2];
    free(buf);
  } else {
    const uint8_t* m = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (size && m == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    if (strcmp(mode, "mmap-page") == 0) {
      for (size_t i = 0; i < size; i += 4096) sum += m[i];
    } else if (strcmp(mode, "mmap-byte") == 0) {
      size_t words = size / 8;
      const uint64_t* w = (const uint64_t*)m;
      for (size_t i = 0; i < words; ++i) sum += w[i];
      for (size_t i = words * 8; i < size; ++i) sum += m[i];
    } else {
      fprintf(stderr, "touch: unknown mode %s\n", mode);
      return 2;
    }
    /* left mapped, as a runtime that maps its weights keeps them */
  }
  double op_wall = clock_ms(CLOCK_MONOTONIC) - w0, op_cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
  double process_wall = ms_since_process_start(), process_cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf(
      "{\"mode\": \"%s\", \"bytes\": %zu, \"op_wall_ms\": %.3f, \"op_cpu_ms\": %.3f, "
      "\"process_wall_ms\": %.3f, \"process_cpu_ms\": %.3f, \"peak_rss_kb\": %ld, "
      "\"checksum\": %llu}\n",
      mode, size, op_wall, op_cpu, process_wall, process_cpu, ru.ru_maxrss,
      (unsigned long long)sum);
  return 0;
}
