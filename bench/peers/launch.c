/* launch REPORT CMD [ARG...]: runs CMD in a child forked from this small process, writes the
 * child's figures to the file REPORT and exits with the child's status.
 *
 * run.py starts every measured program through this. ru_maxrss survives exec (Linux keeps the old
 * address space's high-water mark), and a child spawned straight from Python inherits the Python
 * parent's peak RSS (~15 MB) as its own: small programs (cat, touch, kerasrt on a small model)
 * would all read 15 MB. Forked from this ~1 MB process instead, the measured program starts clean.
 * For the same reason the parent cannot use its own wait4 on this process for peak RSS; this
 * process's wait4 on the child gives the child's own. REPORT gets one JSON line:
 * wall_ms (fork to reaped), cpu_ms (user + sys), peak_rss_kb. Built by run.py with `cc -O2`. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: launch REPORT CMD [ARG...]\n");
    return 2;
  }
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 127;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("wait4");
    return 127;
  }
  double wall = now_ms() - t0;
  FILE* f = fopen(argv[1], "w");
  if (f) {
    fprintf(f, "{\"wall_ms\": %.3f, \"cpu_ms\": %.3f, \"peak_rss_kb\": %ld}\n", wall,
            ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
                ru.ru_stime.tv_usec / 1e3,
            ru.ru_maxrss);
    fclose(f);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
