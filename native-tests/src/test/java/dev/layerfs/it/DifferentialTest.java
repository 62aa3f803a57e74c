package dev.layerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.layerfs.core.error.FsException;
import dev.layerfs.core.nativeio.Linux;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The same shell commands, run on the kernel overlay and on layerfs over identical copies ({@code cp -a}) of the
 * same layers, must give the same results: the same exit codes and messages, the same merged tree (names, types,
 * modes, owners, sizes, contents, link targets, user xattrs, link counts, and every time the kernel kept from a
 * layer), and, after the unmount, upper layers of the same structure (whiteouts, opaque markers, copies). The
 * layers hold no AUFS {@code .wh.} files (which layerfs honours and the kernel does not) and no private xattrs
 * are set (layerfs refuses them).
 */
class DifferentialTest {
    @RegisterExtension
    final MountExtension ext = new MountExtension();

    /** The layers every scenario starts from: two lowers and an upper that already holds some of everything. */
    private static final String BASE = """
            set -e
            mkdir -p $L2/dir/sub $L2/deep/a/b $L2/mix $L2/opq $L2/lowdir $L1/dir $L1/mix $L1/emptyd
            echo l2 > $L2/shared; echo l1 > $L1/shared
            printf 'lower two\\n' > $L2/f2; printf 'lower one\\n' > $L1/f1
            echo x > $L2/dir/x; echo y > $L2/dir/sub/y; echo w > $L1/dir/w
            echo m2 > $L2/mix/m2; echo m1 > $L1/mix/m1
            echo deep > $L2/deep/a/b/c
            echo hidden > $L2/opq/hidden
            echo ld > $L2/lowdir/ld
            echo gone > $L2/gone
            echo exe > $L1/exe; chmod 0755 $L1/exe
            head -c 200000 /dev/urandom > $L2/big
            ln -s f1 $L1/link1; ln -s ../f2 $L2/dir/uplink; ln -s /nonexistent $L1/dangling
            mkfifo $L2/fifo
            mknod $L2/nulldev c 1 3
            mkdir $L1/sg; chgrp 1234 $L1/sg; chmod 2775 $L1/sg
            mkdir $L2/pub; chmod 1777 $L2/pub; echo roots > $L2/pub/roots
            cp /bin/true $L1/capable; setcap cap_net_raw+ep $L1/capable
            ln $L2/f2 $L2/f2hard
            chmod 0600 $L1/f1; chmod 0751 $L2/dir $L1/dir; chmod 0700 $L2/deep
            chown 1234:5678 $L2/f2; chown -h 42:43 $L1/link1; chown 55:66 $L1/mix
            setfattr -n user.color -v blue $L1/f1; setfattr -n user.dirattr -v d $L2/dir
            mkdir $U/dir $U/updir $U/opq; chmod 0751 $U/dir
            echo up > $U/uponly; echo u > $U/updir/u; echo new > $U/opq/new
            echo upshared > $U/shared
            mknod $U/gone c 0 0
            mkdir -p $L1/lopq $L2/lopq; echo hidden2 > $L2/lopq/hidden2; echo shown > $L1/lopq/shown
            setfattr -n trusted.overlay.opaque -v y $L1/lopq
            mknod $L1/lwh c 0 0; echo under > $L2/lwh
            setfattr -n trusted.overlay.opaque -v y $U/opq
            find $L1 $L2 $U -exec touch -h -d @1000000000.123456789 {} +
            """;

    /** Runs each command, logging its exit code and output (paths are relative: the logs must be equal). */
    private static final String PRELUDE = """
            r() { local out rc; out=$("$@" 2>&1); rc=$?; printf '%s -> %d %s\\n' "$*" "$rc" "$out"; }
            """;

    @Test
    void fileOperations() {
        differential("""
                r sh -c 'echo appended >> f1'
                r sh -c 'echo over > f2'
                r truncate -s 3 shared
                r truncate -s 100 big
                r cat f2hard
                r rm dir/x
                r rm uponly
                r touch newfile
                r sh -c 'printf abc > dir/sub/new'
                r chmod 0640 mix/m2
                r chown 7:8 mix/m1
                r touch -d '2010-01-01 00:00:00' dir/w
                r rm gone
                r sh -c 'echo again > dir/x'
                r cat f1 f2 shared dir/x dir/sub/new
                r truncate -s 0 link1
                r ln -s f1 newlink
                r readlink link1 dangling newlink
                r rm dangling
                r chmod 4755 exe
                r touch -h -d @1300000000 link1
                r chown 3:4 nulldev
                r chmod 0700 capable
                r getcap capable
                r sh -c 'echo through the lower fifo > fifo & cat fifo; wait'
                r cat missing
                r rm dir
                r ls -A dir mix .
                """);
    }

    @Test
    void directoryOperations() {
        differential("""
                r mkdir newdir newdir/inner
                r touch sg/f
                r mkdir sg/d sg/d/e
                r chmod 2777 sg
                r setpriv --reuid=2000 --regid=2000 --clear-groups touch sg/by2000
                r setpriv --reuid=2000 --regid=2000 --clear-groups mkdir sg/dir2000
                r setpriv --reuid=2000 --regid=2000 --clear-groups sh -c 'echo mine > pub/mine'
                r setpriv --reuid=2000 --regid=2000 --clear-groups rm -f pub/roots
                r setpriv --reuid=2000 --regid=2000 --clear-groups rm pub/mine
                r setpriv --reuid=2000 --regid=2000 --clear-groups mkdir pub/d2000
                r setpriv --reuid=2000 --regid=2000 --clear-groups cat f1
                r setpriv --reuid=2000 --regid=2000 --clear-groups touch newdir/x
                r rmdir emptyd
                r rm -r deep
                r mkdir deep
                r rmdir dir
                r rm -rf mix
                r mkdir mix
                r sh -c 'echo fresh > mix/fresh'
                r rmdir opq
                r rm opq/new
                r rmdir opq
                r mkdir -p dir/sub/more/levels
                r rm lopq/shown
                r rmdir lopq
                r mkdir lopq lwh
                r ls -A lopq lwh
                r rmdir updir
                r rm -r updir
                r mkdir emptyd
                r mkdir lowdir
                r rm lowdir/ld
                r rmdir lowdir
                r mkdir lowdir
                r touch lowdir/again
                r chmod 0700 dir/sub
                r ls -A dir dir/sub deep mix opq lowdir emptyd .
                """);
    }

    @Test
    void renames() {
        differential("""
                r mv f1 f1moved
                r mv uponly dir/uponly2
                r mv f2 shared
                r mv updir updir2
                r mv updir2 dir/
                r mv dir/sub dir/sub2
                r mkdir nd
                r mv nd nd/inside
                r mv link1 link1moved
                r mv fifo fifo2
                r mv opq opq2
                r mv exe gone
                r mkdir target; r touch target/t
                r mkdir src
                r mv -T src target
                r rmdir src
                r mv -T target mix
                r mv dir/x dir/sub2/x
                r mv f2hard lowdir/f2hard
                r mv missing somewhere
                r mv big mix/
                r rm -r deep
                r mkdir np; r touch np/f
                r mv np deep
                r mkdir pu; r touch pu/g
                r mv -T pu emptyd
                r mkdir pu2; r touch pu2/h
                r mv -T pu2 lopq
                r ls -A . dir dir/sub2 mix lowdir deep emptyd lopq
                """);
    }

    @Test
    void linksSpecialFilesAndXattrs() {
        differential("""
                r ln f2 f2link
                r ln uponly uplink2
                r ln dir/x dir/sub/xlink
                r ln -s ../f1 dir/rel
                r mkfifo newfifo
                r mknod chardev c 1 3
                r mknod blockdev b 7 200
                r setfattr -n user.k -v v f2
                r setfattr -n user.k2 -v v2 dir
                r setfattr -x user.color f1
                r setfattr -n user.new -v n uponly
                r setfattr -n user.on.fifo -v f fifo
                r setfattr -h -n user.on.link -v l link1
                r getfattr -d f1 f2 dir uponly
                r ln dir dirlink
                r ln f1 shared
                r rm f2
                r cat f2link
                r stat -c '%h %s %F' f2link f2hard dir/sub/xlink chardev blockdev newfifo
                r setfattr -x user.missing f1
                """);
    }

    @Test
    void ordinaryTools() {
        Path src = ext.dir("tar-src");
        Sh.bash("""
                set -e
                mkdir -p t/dir/sub t/mix t/newtree
                echo 'from the tarball' > t/shared
                echo 'replaced dir file' > t/dir/x
                echo 'new' > t/newtree/n
                echo 'mixed' > t/mix/m1
                ln -s ../shared t/newtree/link
                chmod 0750 t/newtree
                chown -R 9:9 t/newtree
                setfattr -n user.tar -v yes t/shared
                find t -exec touch -h -d @1200000000 {} +
                tar --xattrs --xattrs-include='user.*' -C t -cf archive.tar .
                """, src, Map.of()).assertOk();
        String tar = src.resolve("archive.tar").toString();
        differential("""
                r tar --xattrs --xattrs-include='user.*' -xf %s
                r cp -a dir dircopy
                r cp -a lowdir lowcopy
                r rm -rf dir
                r mv dircopy dir
                r chmod -R go-rwx mix
                r cp -r deep deepcopy
                r rm -rf deep
                r cp f1 f1copy
                r cp -a f1 f1copy-a
                r sh -c 'cat big | md5sum'
                r sh -c 'find . | sort'
                r sh -c "tar -cf - . | tar -tvf - | awk '{print \\$1, \\$2, \\$3, \\$6, \\$7, \\$8}' | sort -k4"
                """.formatted(tar));
    }

    @Test
    void tarExtractionKeepsTheArchiveTimes() {
        Path src = ext.dir("tar-src");
        Sh.bash("""
                set -e
                mkdir -p t/dir t/newtree
                echo 'from the tarball' > t/shared
                echo 'replaced' > t/dir/x
                echo 'new' > t/newtree/n
                find t -exec touch -h -d @1200000000 {} +
                tar -C t -cf archive.tar .
                """, src, Map.of()).assertOk();
        differential("r tar -xf " + src.resolve("archive.tar") + "\n");
    }

    /**
     * Files with setuid, setgid (with and without group execution) and {@code security.capability}, in a lower
     * layer and in the upper one: what a write, a truncate, an O_TRUNC open and a chown take from them, made by
     * root and by a user without CAP_FSETID (uid 2000, in its own group only), each on a fresh file.
     */
    private static final String PRIVILEGED = """
            for op in uappend upwrite utrunc uftrunc uotrunc ufalloc uchgrp uchownnone rappend rpwrite rtrunc rotrunc \
                    rchown rchgrp rchownnone gappend gtrunc gchownnone; do
              for k in suid:4777 sgid:2777 sgidnx:2767 cap:0777 both:6777; do
                for d in $L1 $U; do
                  f=$d/${op}_${k%%:*}_$(basename $d)
                  echo data > $f
                  case $op in u*|g*) chown 2000:2001 $f ;; esac
                  case $k in cap*|both*) setcap cap_net_raw+ep $f ;; esac
                  chmod ${k#*:} $f
                done
              done
            done
            mkdir $L1/sgdir $U/sgdir2; chmod 2775 $L1/sgdir $U/sgdir2
            """;

    /** The operations on {@link #PRIVILEGED}'s files, by name, each followed by the file's mode and capability. */
    private static final String KILL_PRIVILEGES = """
            as() { setpriv --reuid=2000 --regid=2000 --clear-groups "$@"; }
            member() { setpriv --reuid=2000 --regid=2000 --groups=2001 "$@"; }
            for f in *_*; do
              case $f in
                uappend_*) r as sh -c "echo more >> $f" ;;
                upwrite_*) r as /usr/bin/python3 -c "import os; os.pwrite(os.open('$f', os.O_WRONLY), b'xy', 1)" ;;
                utrunc_*) r as truncate -s 2 $f ;;
                uftrunc_*) r as /usr/bin/python3 -c "import os; os.ftruncate(os.open('$f', os.O_WRONLY), 1)" ;;
                uotrunc_*) r as sh -c ": > $f" ;;
                ufalloc_*) r as /usr/bin/python3 -c "import os; os.posix_fallocate(os.open('$f', 1), 0, 100)" ;;
                uchgrp_*) r as chgrp 2000 $f ;;
                gappend_*) r member sh -c "echo more >> $f" ;;
                gtrunc_*) r member truncate -s 2 $f ;;
                gchownnone_*) r member /usr/bin/python3 -c "import os; os.chown('$f', -1, -1)" ;;
                rappend_*) r sh -c "echo more >> $f" ;;
                rpwrite_*) r /usr/bin/python3 -c "import os; os.pwrite(os.open('$f', os.O_WRONLY), b'xy', 1)" ;;
                rtrunc_*) r truncate -s 2 $f ;;
                rotrunc_*) r sh -c ": > $f" ;;
                rchown_*) r chown 3000 $f ;;
                rchgrp_*) r chgrp 3000 $f ;;
                rchownnone_*) r /usr/bin/python3 -c "import os; os.chown('$f', -1, -1)" ;;
                uchownnone_*) r as /usr/bin/python3 -c "import os; os.chown('$f', -1, -1)" ;;
              esac
              r stat -c '%n %a %u:%g %s' $f
              r getcap $f
            done
            r chown 3000:3000 sgdir sgdir2
            r stat -c '%n %a %u:%g' sgdir sgdir2
            """;

    /**
     * Through FUSE with HANDLE_KILLPRIV_V2 the daemon takes setuid and setgid where the kernel says the caller
     * lacks CAP_FSETID (a truncate's SETATTR, an O_TRUNC open, a served WRITE); a write to a file passed through
     * reaches it as the kernel's own SETATTR that asks for nothing. Without that handling a truncate by the user
     * keeps both bits. Setgid without group execution goes where the user is not in the file's group (uid 2000
     * alone), and stays for a member (2000 with 2001 among its supplementary groups): main's code kept it for
     * both. Root's write to a file with both setuid and a capability is left out (see "How layerfs differs").
     */
    @Test
    void writesTruncatesAndChownsTakeSetuidSetgidAndCapabilities() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), "HANDLE_KILLPRIV_V2 (kernel transport)");
        differential(PRIVILEGED, PRELUDE + KILL_PRIVILEGES_COMPARED, "timeout=0");
    }

    /**
     * The same with the default timeout: the kernel's own decisions use the attributes it keeps. On the libfuse2
     * transport too, but for its two differences (see "How layerfs differs"): setgid without group execution
     * kept for a caller outside the group, and chown(path, -1, -1) copying nothing up.
     */
    @Test
    void privilegesTakenWithTheDefaultTimeout() {
        differential(PRIVILEGED, PRELUDE + (Transports.kernel() ? KILL_PRIVILEGES_COMPARED
                : KILL_PRIVILEGES.replace("for f in *_*; do", "for f in $(ls -d *_* | grep -v -e '^u.*_sgidnx_'"
                        + " -e 'chownnone_.*_l1$' -e '^rappend_both_' -e '^rpwrite_both_'); do")));
    }

    /** The same with files served, not passed through: writes reach layerfs with FUSE_WRITE_KILL_SUIDGID. */
    @Test
    void privilegesTakenThroughServedWrites() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Transports.kernel(), "HANDLE_KILLPRIV_V2 (kernel transport)");
        differential(PRIVILEGED, PRELUDE + KILL_PRIVILEGES_COMPARED, "timeout=0", "passthrough=off");
    }

    private static final String KILL_PRIVILEGES_COMPARED = KILL_PRIVILEGES.replace("for f in *_*; do",
            "for f in $(ls -d *_* | grep -v -e '^rappend_both_' -e '^rpwrite_both_'); do");

    // ---- the machinery ----

    private void differential(String script) {
        differential(root -> Sh.bash(PRELUDE + script, root, Map.of()).stdout());
    }

    /** One system call, its outcome as text: "ok", a value, or the errno's name. */
    @FunctionalInterface
    interface Call {
        Object run(Path root) throws FsException;
    }

    private static String outcomes(Path root, Map<String, Call> calls) {
        StringBuilder b = new StringBuilder();
        calls.forEach((name, call) -> {
            String outcome;
            try {
                Object v = call.run(root);
                outcome = v == null ? "ok" : v.toString();
            } catch (FsException e) {
                outcome = e.errno().name();
            }
            b.append(name).append(" -> ").append(outcome).append('\n');
        });
        return b.toString();
    }

    @Test
    void systemCallOutcomes() {
        Map<String, Call> calls = new LinkedHashMap<>();
        calls.put("rename merged dir", r -> rename(r, "dir", "dir2"));
        calls.put("rename lower-only dir", r -> rename(r, "lowdir", "lowdir2"));
        calls.put("rename lower dir onto empty dir", r -> rename(r, "deep", "emptyd"));
        calls.put("rename upper-only dir", r -> rename(r, "updir", "updir2"));
        calls.put("rename upper dir onto non-empty dir", r -> {
            Errnos.mkdir(r.resolve("e1"), 0755);
            return rename(r, "e1", "opq");
        });
        calls.put("rename upper dir onto empty lower dir", r -> rename(r, "e1", "emptyd"));
        calls.put("rename dir into itself", r -> {
            Errnos.mkdir(r.resolve("nd"), 0755);
            Errnos.mkdir(r.resolve("nd/sub"), 0755);
            return rename(r, "nd", "nd/sub/in");
        });
        calls.put("rename file onto dir", r -> rename(r, "f1", "mix"));
        calls.put("rename dir onto file", r -> rename(r, "updir2", "f1"));
        calls.put("rename missing", r -> rename(r, "missing", "x"));
        calls.put("rename file onto itself", r -> rename(r, "f2", "f2"));
        calls.put("chmod whited-out name", r -> {
            Errnos.chmod(r.resolve("gone"), 0600);
            return null;
        });
        calls.put("rmdir whited-out name", r -> {
            Errnos.rmdir(r.resolve("gone"));
            return null;
        });
        calls.put("lstat whited-out name", r -> Errnos.lstat(r.resolve("gone")));
        calls.put("rename file onto whiteout name", r -> rename(r, "exe", "gone"));
        calls.put("rename file onto lower file", r -> rename(r, "shared", "f2hard"));
        calls.put("rmdir non-empty merged", r -> {
            Errnos.rmdir(r.resolve("mix"));
            return null;
        });
        calls.put("rmdir non-empty upper", r -> {
            Errnos.rmdir(r.resolve("updir2"));
            return null;
        });
        calls.put("rmdir file", r -> {
            Errnos.rmdir(r.resolve("f1"));
            return null;
        });
        calls.put("unlink dir", r -> {
            Errnos.unlink(r.resolve("mix"));
            return null;
        });
        calls.put("unlink missing", r -> {
            Errnos.unlink(r.resolve("nothing"));
            return null;
        });
        calls.put("unlink through a file", r -> {
            Errnos.unlink(r.resolve("f1/x"));
            return null;
        });
        calls.put("link dir", r -> {
            Errnos.link(r.resolve("mix"), r.resolve("mixlink"));
            return null;
        });
        calls.put("link onto existing", r -> {
            Errnos.link(r.resolve("f1"), r.resolve("f2"));
            return null;
        });
        calls.put("link lower file", r -> {
            Errnos.link(r.resolve("f1"), r.resolve("mix/f1link"));
            return null;
        });
        calls.put("mkdir existing", r -> {
            Errnos.mkdir(r.resolve("dir"), 0755);
            return null;
        });
        calls.put("mkdir over whiteout", r -> {
            Errnos.mkdir(r.resolve("dir/x2"), 0700);
            return null;
        });
        calls.put("symlink onto existing", r -> {
            Errnos.symlink("t", r.resolve("f2"));
            return null;
        });
        calls.put("mknod fifo onto existing", r -> {
            Errnos.mknod(r.resolve("fifo"), Linux.S_IFIFO | 0644, 0);
            return null;
        });
        calls.put("open O_EXCL existing", r -> {
            Errnos.openClose(r.resolve("f2"), Linux.O_CREAT | Linux.O_EXCL | Linux.O_WRONLY, 0644);
            return null;
        });
        calls.put("open dir for writing", r -> {
            Errnos.openClose(r.resolve("dir"), Linux.O_WRONLY, 0);
            return null;
        });
        calls.put("open O_DIRECTORY of file", r -> {
            Errnos.openClose(r.resolve("f2"), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
            return null;
        });
        calls.put("readlink of file", r -> Errnos.sys().readlinkat(Linux.AT_FDCWD, r.resolve("f2").toString()));
        calls.put("readlink of lower link", r -> Errnos.sys().readlinkat(Linux.AT_FDCWD,
                r.resolve("dir/uplink").toString()));
        calls.put("getxattr missing", r -> String.valueOf(Errnos.getxattr(r.resolve("f2"), "user.none")));
        calls.put("getxattr lower", r -> Errnos.getxattr(r.resolve("f1"), "user.color"));
        calls.put("getxattr of a merged dir (the upper's xattrs)", r -> String.valueOf(Errnos.getxattr(
                r.resolve("dir"), "user.dirattr")));
        calls.put("setxattr on symlink", r -> {
            Errnos.sys().lsetxattr(Linux.AT_FDCWD, r.resolve("link1").toString(), "user.x", new byte[] {1}, 0);
            return null;
        });
        calls.put("removexattr missing", r -> {
            Errnos.sys().lremovexattr(Linux.AT_FDCWD, r.resolve("f2").toString(), "user.none");
            return null;
        });
        calls.put("removexattr lower", r -> {
            Errnos.sys().lremovexattr(Linux.AT_FDCWD, r.resolve("f1").toString(), "user.color");
            return null;
        });
        calls.put("listxattr merged dir", r -> Errnos.sys().llistxattr(Linux.AT_FDCWD, r.resolve("dir").toString()));
        calls.put("listxattr root", r -> Errnos.sys().llistxattr(Linux.AT_FDCWD, r.toString()));
        calls.put("lstat mode of merged dir", r -> Integer.toOctalString(Errnos.lstat(r.resolve("dir")).mode()));
        calls.put("nlink of merged dir", r -> Errnos.lstat(r.resolve("dir")).nlink());
        calls.put("nlink of lower-only dir", r -> Errnos.lstat(r.resolve("dir/sub")).nlink());
        calls.put("nlink of upper-only dir", r -> Errnos.lstat(r.resolve("updir2")).nlink());
        calls.put("nlink of root", r -> Errnos.lstat(r).nlink());
        differential(root -> outcomes(root, calls));
    }

    private static Object rename(Path root, String from, String to) throws FsException {
        Errnos.rename(root.resolve(from), root.resolve(to), 0);
        return null;
    }

    /**
     * timeout=0: the kernel's FUSE attribute cache must not decide the comparison. With the default 1 s, the link
     * count cached for one name of a hard-linked file is stale for a moment after a link or unlink through another
     * name (a documented FUSE effect, see AttributeCacheTest).
     */
    private void differential(java.util.function.Function<Path, String> action) {
        differential("", action, "timeout=0");
    }

    /** After {@link #BASE}, {@code setup} (in the same variables) makes more of the layers; then the script. */
    private void differential(String setup, String script, String... layerfsOptions) {
        differential(setup, root -> Sh.bash(script, root, Map.of()).stdout(), layerfsOptions);
    }

    private void differential(String setup, java.util.function.Function<Path, String> action,
            String... layerfsOptions) {
        Layers base = ext.layers("base", 2);
        Sh.bash(BASE + setup, ext.root(), Map.of("L1", base.lower(0).toString(), "L2", base.lower(1).toString(),
                "U", base.upper().toString())).assertOk();
        Layers kl = base.copyTo(ext.root().resolve("kernel"));
        Layers fl = base.copyTo(ext.root().resolve("layerfs"));

        List<SortedMap<String, Tree.Node>> lowersBefore = List.of(Tree.scan(fl.lower(0), n -> true),
                Tree.scan(fl.lower(1), n -> true));
        KernelOverlay kernel = ext.mountKernel(kl);
        LayerfsMount layerfs = ext.mount(fl, layerfsOptions);
        Predicate<String> user = Tree.USER_XATTRS.or(n -> n.equals("security.capability"));
        Tree.assertSame("the merged trees before the script (kernel, layerfs)",
                Tree.scan(kernel.mountPoint(), user), Tree.scan(layerfs.mountPoint(), user), mergedFields());

        long scriptStart = java.time.Instant.now().getEpochSecond() - 1;
        String kernelLog = action.apply(kernel.mountPoint());
        String layerfsLog = action.apply(layerfs.mountPoint());
        assertEquals(kernelLog, layerfsLog, "the outcomes of the same operations (kernel, layerfs)");

        SortedMap<String, Tree.Node> km = Tree.scan(kernel.mountPoint(), user);
        SortedMap<String, Tree.Node> fm = Tree.scan(layerfs.mountPoint(), user);
        Tree.assertSame("the merged trees after the script (kernel, layerfs)", km, fm, mergedFields());
        assertKeptTimesAgree(km, fm, scriptStart);

        kernel.unmount();
        layerfs.unmount();
        // The upper layers: the same objects, whiteouts and opaque markers (the kernel's other private xattrs,
        // origin/impure/uuid, are its inode-number bookkeeping, which layerfs does not keep).
        Predicate<String> upperXattrs = user.or(n -> n.equals("trusted.overlay.opaque"));
        Tree.assertSame("the upper layers after the unmount (kernel, layerfs)",
                Tree.scan(kl.upper(), upperXattrs), Tree.scan(fl.upper(), upperXattrs), Tree.STRUCTURE);
        for (int i = 0; i < 2; i++) {
            Tree.assertSame("layerfs's lower layer " + (i + 1) + " before and after", lowersBefore.get(i),
                    Tree.scan(fl.lower(i), n -> true), EnumSet.allOf(Tree.Field.class));
        }

        // What layerfs left is read by the kernel overlay as the kernel's own upper layer is.
        KernelOverlay kernelAgain = ext.mountKernel(kl);
        KernelOverlay kernelOnLayerfs = ext.mountKernel(fl);
        Tree.assertSame("kernel overlay views of the kernel's and layerfs's upper layers",
                Tree.scan(kernelAgain.mountPoint(), user), Tree.scan(kernelOnLayerfs.mountPoint(), user),
                mergedFields());
    }

    private static Set<Tree.Field> mergedFields() {
        EnumSet<Tree.Field> f = EnumSet.copyOf(Tree.STRUCTURE);
        f.add(Tree.Field.NLINK);
        return f;
    }

    /**
     * Where the kernel shows an mtime from before the script (one kept from a layer, or set explicitly by touch or
     * tar), layerfs must show the same, to the nanosecond.
     */
    private static void assertKeptTimesAgree(SortedMap<String, Tree.Node> kernel, SortedMap<String, Tree.Node> fs,
            long scriptStart) {
        Map<String, String> diffs = new TreeMap<>();
        kernel.forEach((path, k) -> {
            Tree.Node f = fs.get(path);
            long sec = Long.parseLong(k.mtime().substring(0, k.mtime().indexOf('.')));
            if (f != null && sec < scriptStart && !k.mtime().equals(f.mtime())) {
                diffs.put(path, "kernel " + k.mtime() + ", layerfs " + f.mtime());
            }
        });
        assertEquals(Map.of(), diffs, "mtimes from before the script (kept from the layers or set explicitly)");
    }
}
