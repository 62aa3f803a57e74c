/*
 * layerfs-client: hands a `layerfs [-o OPTS] MOUNTPOINT` command over to a running `layerfs serve`, with no JVM.
 *
 * It is also the `layerfs` command itself where a binary is wanted (`make install` links it as `layerfs`, and
 * podman's mount_program may name it): a container engine runs its mount program for every container, and the
 * bash of bin/layerfs cost each mount some milliseconds before this program ran. Run directly, it hands over a
 * plain mount command (`[-o OPTS] MOUNTPOINT`, the helper form `SOURCE MOUNTPOINT -o OPTS` too) and runs
 * bin/layerfs, the launcher, with the same arguments for anything else (-f, -d, --help, --version, serve,
 * snapshotter, the image commands) and where LAYERFS_DAEMON=off. bin/layerfs in turn runs this program for the
 * mount commands it decides to hand over (`image mount` among them), saying so with LAYERFS_HANDOVER=1. Without
 * a daemon (no control socket, or a stale one: connection refused), or when the daemon says the mount is not its
 * to serve, it runs bin/layerfs with LAYERFS_DAEMON=off: the mount is then made exactly as without a daemon, by
 * a JVM of its own. The launcher is $LAYERFS_LAUNCHER where bin/layerfs set it, else bin/layerfs of the tree
 * this program was built in (ROOT/daemon/target/layerfs-client, found through /proc/self/exe).
 *
 * Design: who calls mount(2). A FUSE mount is made in the mount namespace of the process that calls mount(2),
 * with the permissions of its user namespace. Rootless podman runs its mount program inside its own user and
 * mount namespaces, where only a process in those namespaces can mount (and where the mount must appear), and
 * a multi-threaded process such as a JVM cannot setns(2) into another mount namespace. So the daemon never
 * mounts for a client: it parses and checks the command line (in Java, the one place that does it, with the
 * client's working directory and LAYERFS_* environment) and answers with the parameters of mount(2); this
 * client opens /dev/fuse, calls mount(2) itself, in its own namespaces, and passes the descriptor to the daemon
 * with SCM_RIGHTS (as fusermount3 passes one back to libfuse), together with a descriptor on its mount
 * namespace (/proc/self/ns/mnt) through which the daemon can unmount it later from outside (nsenter). The
 * daemon attaches its own /dev/fuse to that connection, answers the INIT the kernel queued at mount time and
 * says "ready"; the client then stats the mount point through the mount and exits 0. The same path serves
 * rootful mounts, mounts from another mount namespace and, with the daemon running inside podman's user
 * namespace, rootless podman: one code path for all. Where mount(2) is not permitted at all (a user without
 * privileges outside a user namespace), the daemon sends the command back to run in a process of its own,
 * which mounts through fusermount3.
 *
 * The protocol (frames of a 4-byte big-endian length and NUL-terminated fields) is described in the daemon's
 * HandOver.java. Access: the socket is 0600 and the daemon checks the peer's uid (SO_PEERCRED).
 *
 * `layerfs-client --warm-up ...` is not a command for users: the daemon runs it before it serves (warm_up below).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FRAME (1u << 20)
#define MAX_FIELDS 16

struct buf {
    char *data;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->data = realloc(b->data, b->cap);
        if (b->data == NULL) {
            fprintf(stderr, "layerfs: out of memory\n");
            exit(1);
        }
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void put_field(struct buf *b, const char *s)
{
    put(b, s, strlen(s) + 1);
}

/* bin/layerfs: $LAYERFS_LAUNCHER, else ROOT/bin/layerfs for this program at ROOT/daemon/target/layerfs-client. */
static const char *launcher(void)
{
    static char path[4096];
    const char *given = getenv("LAYERFS_LAUNCHER");
    if (given != NULL && *given != '\0')
        return given;
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0)
        return NULL;
    path[n] = '\0';
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(path, '/');
        if (slash == NULL)
            return NULL;
        *slash = '\0';
    }
    if (strlen(path) + sizeof("/bin/layerfs") > sizeof(path))
        return NULL;
    strcat(path, "/bin/layerfs");
    return path;
}

/* Runs bin/layerfs with these arguments in place of this program. */
static void run_launcher(char **argv)
{
    const char *l = launcher();
    if (l == NULL) {
        fprintf(stderr, "layerfs: cannot find bin/layerfs (LAYERFS_LAUNCHER is not set and /proc/self/exe does not"
                        " name ROOT/daemon/target/layerfs-client)\n");
        exit(1);
    }
    argv[0] = (char *) l;
    execv(l, argv);
    fprintf(stderr, "layerfs: cannot run %s: %s\n", l, strerror(errno));
    exit(1);
}

/* Runs the command in a process of its own: bin/layerfs, told not to look for a daemon. */
static void elsewhere(char **argv)
{
    setenv("LAYERFS_DAEMON", "off", 1);
    run_launcher(argv);
}

/*
 * Whether a command run directly is a plain mount command, by bin/layerfs's rule: not serve, snapshotter, an image
 * command or a build's training run, and none of -f, -d, --debug, -h, --help, -V, --version.
 */
static int plain_mount(int argc, char **argv)
{
    if (argc < 2)
        return 0;
    static const char *const commands[] = {"image", "serve", "snapshotter", "--train-startup", ""};
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i]) == 0)
            return 0;
    static const char *const foreground[] = {"-f", "-d", "--debug", "-h", "--help", "-V", "--version"};
    for (int a = 1; a < argc; a++)
        for (size_t i = 0; i < sizeof(foreground) / sizeof(foreground[0]); i++)
            if (strcmp(argv[a], foreground[i]) == 0)
                return 0;
    return 1;
}

/*
 * Root of the host: uid 0 in the initial user namespace, whose uid_map maps every id to itself. Root of another
 * user namespace (rootless podman's mount program) cannot create /run/layerfs and uses its user's run directory.
 */
static int host_root(void)
{
    if (geteuid() != 0)
        return 0;
    FILE *map = fopen("/proc/self/uid_map", "re");
    if (map == NULL)
        return 1;
    unsigned long inside, outside, count;
    int whole = fscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0
                && count == 4294967295UL;
    fclose(map);
    return whole;
}

/* The run directory, by the daemon's rule (RunDir.java). NULL where none can be named. */
static const char *run_dir(char *out, size_t n)
{
    const char *dir = getenv("LAYERFS_RUN_DIR");
    if (dir != NULL && *dir != '\0') {
        snprintf(out, n, "%s", dir);
    } else if (host_root()) {
        snprintf(out, n, "/run/layerfs");
    } else if ((dir = getenv("XDG_RUNTIME_DIR")) != NULL && *dir != '\0') {
        snprintf(out, n, "%s/layerfs", dir);
    } else {
        return NULL;
    }
    return out;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

static int read_all(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return -1;
        p += r;
        n -= (size_t) r;
    }
    return 0;
}

/* Sends one frame; with descriptors (SCM_RIGHTS) attached to it where nfds > 0. */
static int send_frame(int s, const struct buf *body, const int *fds, int nfds)
{
    unsigned char len[4] = {body->len >> 24, body->len >> 16, body->len >> 8, body->len};
    struct buf all = {0};
    put(&all, (const char *) len, 4);
    put(&all, body->data, body->len);
    if (nfds == 0) {
        int rc = write_all(s, all.data, all.len);
        free(all.data);
        return rc;
    }
    struct iovec iov = {all.data, all.len};
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    ssize_t sent;
    do {
        sent = sendmsg(s, &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    int rc = 0;
    if (sent < 0)
        rc = -1;
    else if ((size_t) sent < all.len)
        rc = write_all(s, all.data + sent, all.len - (size_t) sent);
    free(all.data);
    return rc;
}

/* Reads one frame and splits it into its fields; the number of fields, or -1 where the daemon hung up. */
static int recv_frame(int s, char **fields, char **storage)
{
    unsigned char len[4];
    if (read_all(s, (char *) len, 4))
        return -1;
    uint32_t n = (uint32_t) len[0] << 24 | (uint32_t) len[1] << 16 | (uint32_t) len[2] << 8 | len[3];
    if (n > MAX_FRAME)
        return -1;
    free(*storage);
    *storage = malloc(n + 1);
    if (*storage == NULL || read_all(s, *storage, n))
        return -1;
    (*storage)[n] = '\0';
    int count = 0;
    for (size_t i = 0; i < n && count < MAX_FIELDS; i += strlen(*storage + i) + 1)
        fields[count++] = *storage + i;
    return count;
}

/* A connection to the daemon's control socket, or -1. */
static int connect_to(const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, path, strlen(path) + 1);
    if (connect(s, (struct sockaddr *) &addr, sizeof(addr)) != 0) {
        close(s);
        return -1;
    }
    return s;
}

/*
 * LAYERFS_AUTOSTART=1 and no daemon: starts `layerfs serve --run-dir DIR` here, in this process's namespaces (where
 * rootless podman runs its mount program, the daemon then serves every later mount of that namespace, and stays,
 * as podman's own pause process does), detached (its own session, its output in DIR/serve.log), then waits for
 * its socket. Where two clients start one at once, the second daemon finds the run directory taken and exits;
 * both clients connect to the first. A connection, or -1 (the mount is then made in a process of its own).
 */
static int start_daemon(const char *dir, const char *path)
{
    const char *l = launcher();
    char log[4200];
    if (l == NULL || (size_t) snprintf(log, sizeof(log), "%s/serve.log", dir) >= sizeof(log))
        return -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        /* The daemon is a grandchild: nobody waits for it, and it outlives this command. */
        setsid();
        if (fork() != 0)
            _exit(0);
        int null = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (null < 0 || out < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(1);
        execl(l, l, "serve", "--run-dir", dir, (char *) NULL);
        _exit(1);
    }
    waitpid(child, NULL, 0);
    /* The JVM starts in a fraction of a second; a loaded machine may take longer. */
    for (int i = 0; i < 3000; i++) {
        int s = connect_to(path);
        if (s >= 0)
            return s;
        usleep(10000);
    }
    fprintf(stderr, "layerfs: warning: the layerfs daemon started for %s did not answer (see %s)\n", dir, log);
    return -1;
}

/* hand_over's answer where the command is to run in a process of its own (elsewhere). */
#define ELSEWHERE (-1)

/* Unmounts what the conversation mounted, where it ends without the mount live. */
static void undo(int mounted, const char *mountpoint)
{
    if (mounted)
        umount2(mountpoint, MNT_DETACH);
}

/*
 * The conversation with the daemon on connection s (closed here) for the command argv[1..argc-1]: the command's
 * exit status (0 once the mount answers), or ELSEWHERE.
 */
static int hand_over(int s, const char *socket_path, int argc, char **argv)
{
    struct buf req = {0};
    char cwd[4096], number[32];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        fprintf(stderr, "layerfs: cannot read the working directory: %s\n", strerror(errno));
        close(s);
        return 1;
    }
    put_field(&req, "mount");
    put_field(&req, cwd);
    snprintf(number, sizeof(number), "%d", argc - 1);
    put_field(&req, number);
    for (int i = 1; i < argc; i++)
        put_field(&req, argv[i]);
    /* The variables the daemon reads for the command: the transport, and the image store of `layerfs image mount`. */
    static const char *const passed[] = {"LAYERFS_TRANSPORT", "LAYERFS_STORE"};
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        const char *value = getenv(passed[i]);
        if (value != NULL) {
            put(&req, passed[i], strlen(passed[i]));
            put(&req, "=", 1);
            put_field(&req, value);
        }
    }
    int unsent = send_frame(s, &req, NULL, 0);
    free(req.data);
    if (unsent) {
        close(s);
        return ELSEWHERE;
    }

    char *fields[MAX_FIELDS], *storage = NULL, *mountpoint = NULL;
    int mounted = 0, status = -2;
    while (status == -2) {
        int n = recv_frame(s, fields, &storage);
        if (n < 1) {
            fprintf(stderr, "layerfs: the layerfs daemon (%s) closed the connection before the mount was live\n",
                    socket_path);
            undo(mounted, mountpoint);
            status = 1;
        } else if (strcmp(fields[0], "warn") == 0 && n >= 2) {
            fprintf(stderr, "layerfs: %s\n", fields[1]);
        } else if (strcmp(fields[0], "say") == 0 && n >= 2 && !mounted) {
            fprintf(stderr, "%s\n", fields[1]);
        } else if (strcmp(fields[0], "exit") == 0 && n >= 2 && !mounted) {
            status = atoi(fields[1]) == 0 ? 1 : atoi(fields[1]);
        } else if (strcmp(fields[0], "error") == 0 && n >= 3) {
            undo(mounted, mountpoint);
            fprintf(stderr, "layerfs: %s\n", fields[2]);
            status = atoi(fields[1]) == 0 ? 1 : atoi(fields[1]);
        } else if (strcmp(fields[0], "elsewhere") == 0) {
            status = ELSEWHERE;
        } else if (strcmp(fields[0], "mount") == 0 && n >= 6 && !mounted) {
            /* mount SOURCE TYPE FLAGS OPTIONS MOUNTPOINT */
            mountpoint = strdup(fields[5]);
            int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
            int err = 0;
            if (dev < 0) {
                err = errno;
            } else {
                struct buf data = {0};
                char head[128];
                snprintf(head, sizeof(head), "fd=%d,rootmode=40000,user_id=%u,group_id=%u", dev,
                         (unsigned) geteuid(), (unsigned) getegid());
                put(&data, head, strlen(head));
                if (*fields[4] != '\0') {
                    put(&data, ",", 1);
                    put(&data, fields[4], strlen(fields[4]));
                }
                put(&data, "", 1);
                if (mount(fields[1], mountpoint, fields[2], strtoul(fields[3], NULL, 10), data.data) != 0)
                    err = errno;
                free(data.data);
            }
            struct buf answer = {0};
            if (err != 0) {
                if (dev >= 0)
                    close(dev);
                snprintf(number, sizeof(number), "%d", err);
                put_field(&answer, "failed");
                put_field(&answer, number);
                if (send_frame(s, &answer, NULL, 0))
                    status = 1;
            } else {
                mounted = 1;
                int fds[2] = {dev, open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)};
                put_field(&answer, "mounted");
                if (send_frame(s, &answer, fds, fds[1] >= 0 ? 2 : 1)) {
                    umount2(mountpoint, MNT_DETACH);
                    fprintf(stderr, "layerfs: cannot pass the mount to the layerfs daemon: %s\n", strerror(errno));
                    status = 1;
                }
                close(dev);
                if (fds[1] >= 0)
                    close(fds[1]);
            }
            free(answer.data);
        } else if (strcmp(fields[0], "ready") == 0 && mounted) {
            struct stat st;
            if (lstat(mountpoint, &st) != 0) {
                int err = errno;
                umount2(mountpoint, MNT_DETACH);
                fprintf(stderr, "layerfs: the mount at %s does not answer: %s\n", mountpoint, strerror(err));
                status = 1;
            } else {
                status = 0;
            }
        } else {
            fprintf(stderr, "layerfs: the layerfs daemon answered \"%s\", which this client does not know\n", fields[0]);
            undo(mounted, mountpoint);
            status = 1;
        }
    }
    close(s);
    free(storage);
    free(mountpoint);
    return status;
}

/* Drops a result the workload does not look at. */
static void ignore(long result)
{
    (void) result;
}

/* A path below the mount point, printf-style; the workload's names are short. */
static const char *at(char *out, const char *mnt, const char *fmt, int a, int b)
{
    int n = snprintf(out, 4096, "%s/", mnt);
    snprintf(out + n, 4096 - n, fmt, a, b);
    return out;
}

/*
 * One round of what a container's start asks of its root file system, with names of round r of mount m so that
 * the kernel's caches do not answer for the daemon: lookups (some of names that do not exist), stat, reading a
 * lower file (its cached pages dropped afterwards), creating and writing a file, a directory, a symbolic link and
 * a hard link, chmod, chown and utimes (a lower file's first copies it up), extended attributes, a directory
 * listing, statfs, rename, unlink, rmdir. Every result is ignored: the point is the requests.
 */
static void workload(const char *mnt, int m, int r)
{
    char a[4096], b[4096], data[65536];
    struct stat st;
    struct statfs sfs;
    ignore(lstat(at(a, mnt, "etc/conf%d", r % 20, 0), &st));
    ignore(lstat(at(a, mnt, "usr/lib/missing-%d-%d", m, r), &st));
    ignore(stat(at(a, mnt, "bin/sh", 0, 0), &st));
    int fd = open(at(a, mnt, "bin/prog", 0, 0), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (read(fd, data, sizeof(data)) > 0) {
        }
        ignore(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
        ignore(fgetxattr(fd, "security.capability", data, sizeof(data)));
        close(fd);
    }
    ignore(readlink(at(a, mnt, "bin/sh", 0, 0), data, sizeof(data)));
    fd = open(at(a, mnt, "tmp/new-%d-%d", m, r), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ignore(write(fd, data, 4096));
        ignore(fsetxattr(fd, "user.warm", "1", 1, 0));
        close(fd);
    }
    ignore(mkdir(at(a, mnt, "run/dir-%d-%d", m, r), 0755));
    ignore(chmod(a, 0700));
    ignore(chown(a, 0, 0));
    ignore(symlink("../etc/conf0", at(b, mnt, "run/link-%d-%d", m, r)));
    ignore(readlink(b, data, sizeof(data)));
    ignore(link(at(a, mnt, "tmp/new-%d-%d", m, r), at(b, mnt, "tmp/hard-%d-%d", m, r)));
    ignore(lgetxattr(b, "user.warm", data, sizeof(data)));
    ignore(llistxattr(b, data, sizeof(data)));
    ignore(chmod(at(a, mnt, "etc/conf%d", r % 20, 0), 0600));
    fd = open(at(a, mnt, "etc/conf%d", (r + 7) % 20, 0), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        ignore(write(fd, "x\n", 2));
        close(fd);
    }
    ignore(utimensat(AT_FDCWD, at(a, mnt, "usr/lib/lib%d", r % 20, 0), NULL, 0));
    DIR *d = opendir(at(a, mnt, r % 2 ? "etc" : "run", 0, 0));
    if (d != NULL) {
        while (readdir(d) != NULL) {
        }
        closedir(d);
    }
    ignore(statfs(mnt, &sfs));
    ignore(rename(at(a, mnt, "tmp/new-%d-%d", m, r), at(b, mnt, "tmp/renamed-%d-%d", m, r)));
    ignore(unlink(b));
    ignore(unlink(at(a, mnt, "tmp/hard-%d-%d", m, r)));
    ignore(unlink(at(a, mnt, "run/link-%d-%d", m, r)));
    ignore(rmdir(at(a, mnt, "run/dir-%d-%d", m, r)));
}

/*
 * layerfs-client --warm-up SOCKET DIR MOUNTS ROUNDS: what `layerfs serve` runs before its control socket listens,
 * so that the code a mount runs, the daemon's and the kernel transport's, is compiled before the first real mount
 * needs it rather than interpreted during it (daemon/: WarmUp). In a mount namespace of its own (nothing of it is
 * seen outside, and it goes with this process), it mounts DIR/lower (which the daemon filled) with an upper layer
 * of its own MOUNTS times through the daemon listening on SOCKET, as any mount is, and runs ROUNDS rounds of the
 * workload on each. Exit status 3: no mount namespace may be made here.
 */
static int warm_up(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    const char *path = argv[0], *dir = argv[1];
    int mounts = atoi(argv[2]), rounds = atoi(argv[3]);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return 3;
    char mnt[4096], opts[4096 * 3 + 64];
    snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
    mkdir(mnt, 0755);
    for (int m = 0; m < mounts; m++) {
        char upper[4096], work[4096];
        snprintf(upper, sizeof(upper), "%s/upper-%d", dir, m);
        snprintf(work, sizeof(work), "%s/work-%d", dir, m);
        mkdir(upper, 0755);
        mkdir(work, 0755);
        snprintf(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s,workdir=%s", dir, upper, work);
        char *args[] = {"layerfs", "-o", opts, mnt, NULL};
        int s = connect_to(path);
        if (s < 0)
            return 1;
        int status = hand_over(s, path, 4, args);
        if (status != 0)
            return status == ELSEWHERE ? 4 : status;
        for (int r = 0; r < rounds; r++)
            workload(mnt, m, r);
        if (umount2(mnt, 0) != 0)
            umount2(mnt, MNT_DETACH);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--warm-up") == 0)
        return warm_up(argc - 2, argv + 2);
    /* bin/layerfs decided to hand this command over; run directly, this program decides by the same rule. */
    const char *decided = getenv("LAYERFS_HANDOVER");
    int handover = decided != NULL && strcmp(decided, "1") == 0;
    unsetenv("LAYERFS_HANDOVER");
    if (!handover) {
        const char *daemon = getenv("LAYERFS_DAEMON");
        if ((daemon != NULL && strcmp(daemon, "off") == 0) || !plain_mount(argc, argv))
            run_launcher(argv);
    }

    char dir[4096], path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
    if (run_dir(dir, sizeof(dir)) == NULL || (size_t) snprintf(path, sizeof(path), "%s/control.sock", dir) >= sizeof(path))
        elsewhere(argv);
    int s = connect_to(path);
    if (s < 0) {
        const char *autostart = getenv("LAYERFS_AUTOSTART");
        if (autostart != NULL && strcmp(autostart, "1") == 0)
            s = start_daemon(dir, path);
        /* No daemon: no socket (ENOENT), a stale one (ECONNREFUSED), or one this user may not use. */
        if (s < 0)
            elsewhere(argv);
    }
    int status = hand_over(s, path, argc, argv);
    if (status == ELSEWHERE)
        elsewhere(argv);
    return status;
}
