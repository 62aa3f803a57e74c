package dev.layerfs.it.fuzz;

import dev.layerfs.it.fuzz.Stack.Entry;
import dev.layerfs.it.fuzz.Stack.Kind;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Random stacks and operation sequences, a pure function of a seed and a {@link Profile}: the same seed gives the
 * same sequence on every machine and run. Names come from a small alphabet so that the layers collide (a file
 * over a directory, a whiteout over a file, the same directory merged through several layers) and the
 * operations hit what exists; in some sequences a letter or two of it is an odd name ({@link OddNames}), and some
 * have a deep tree or use O_DIRECT. Names and paths are in the text form of {@link ByteNames}.
 */
final class Gen {
    static final String[] NAMES = {"a", "b", "c", "d", "e"};
    static final String[] NEW_NAMES = {"n", "m", "o", "a", "b"};
    static final int[] FILE_MODES = {0644, 0644, 0600, 0755, 0640, 0444, 0666, 0000, 04755, 02755, 0700};
    static final int[] DIR_MODES = {0755, 0755, 0700, 0775, 01777, 02775, 0555, 0711, 0777};
    static final int[] OP_MODES = {0644, 0600, 0755, 0700, 0000, 0777, 04755, 02775, 01777, 0444};
    static final int[] OWNERS = {0, 0, 0, 1000, 1001, 65534};
    static final int[] USERS = {1000, 65534};
    static final String[] LINK_TARGETS = {"a", "b", "../a", "d/e", "c/a", "..", ".", "/etc/passwd",
        "/nonexistent", "missing", "../../x", "a/b/c", "../../../../etc"};
    static final String[] XATTR_NAMES = {"user.a", "user.b", "user.c"};

    /**
     * How many sequences in a hundred use odd names ({@link OddNames}), a deep tree, O_DIRECT (half their opens
     * with O_DIRECT, half their reads and writes aligned for it: {@link #directIo}).
     */
    static final int ODD_NAMES_PERCENT = 30;
    static final int DEEP_PERCENT = 8;
    static final int DIRECT_PERCENT = 10;

    private final SplittableRandom r;
    private final Profile profile;
    /** This sequence's alphabets: the fixed ones, some names replaced by odd ones in some sequences. */
    private final String[] names = NAMES.clone();
    private final String[] newNames = NEW_NAMES.clone();
    private final String[] xattrNames = XATTR_NAMES.clone();
    private final List<String> linkTargets = new ArrayList<>(List.of(LINK_TARGETS));
    /** The deep tree's directories, top down (empty where the sequence has none). */
    private final List<String> deep = new ArrayList<>();
    private boolean direct;

    private Gen(long seed, Profile profile) {
        this.r = new SplittableRandom(seed);
        this.profile = profile;
    }

    /**
     * Replaces one or two names of the alphabets with odd ones: the same name in the layers' alphabet and the
     * operations', so that they collide as the plain names do; and maybe an xattr name and a link target.
     */
    private void oddNames() {
        int n = 1 + r.nextInt(2);
        for (int i = 0; i < n; i++) {
            String odd = OddNames.any(r);
            int k = r.nextInt(2);          // "a" or "b": in both alphabets
            names[k] = odd;
            newNames[3 + k] = odd;
            if (r.nextBoolean()) {
                newNames[r.nextInt(3)] = OddNames.any(r);
            }
        }
        if (r.nextInt(3) == 0) {
            xattrNames[2] = "user." + ByteNames.text(ByteNames.bytes(OddNames.any(r)).substring(0, 1));
        }
        linkTargets.add(names[0]);
        linkTargets.add("../" + names[1]);
    }

    /** The sequence of a seed: its stack and its operations. */
    static Seq sequence(long seed, Profile profile) {
        Gen g = new Gen(seed, profile);
        Stack stack = g.stack();
        for (Allowed a : profile.exclusions()) {
            stack = a.filter(stack);
        }
        List<Op> ops = g.ops(stack);
        // Which lower layers layerfs gets in AUFS form: from a stream of its own, so that the stack and the
        // operations are what they were before AUFS layers were added.
        SplittableRandom a = new SplittableRandom(seed ^ 0x61756673L);
        Set<Integer> aufs = new java.util.TreeSet<>();
        for (int l = 1; l <= stack.lowers(); l++) {
            if (a.nextInt(100) < 35 && !hasLongWhiteout(stack, l)) {
                aufs.add(l);
            }
        }
        return new Seq(seed, new Stack(stack.lowers(), stack.entries(), Set.copyOf(aufs)), ops);
    }

    /** A whiteout whose name is longer than 251 bytes has no AUFS form: ".wh." + the name would not fit. */
    private static boolean hasLongWhiteout(Stack stack, int layer) {
        for (Entry e : stack.entries()) {
            if (e.layer() == layer && e.kind() == Kind.WH) {
                String p = ByteNames.bytes(e.path());
                if (p.length() - p.lastIndexOf('/') - 1 > 251) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---- stacks ----

    private Stack stack() {
        if (r.nextInt(100) < ODD_NAMES_PERCENT) {
            oddNames();
        }
        int lowers = 1 + r.nextInt(5);
        List<Entry> entries = new ArrayList<>();
        boolean someLower = false;
        boolean[] hasRoot = new boolean[lowers + 1];
        for (int l = 1; l <= lowers; l++) {
            hasRoot[l] = r.nextInt(10) < 7;
            someLower |= hasRoot[l];
        }
        if (!someLower) {
            hasRoot[1 + r.nextInt(lowers)] = true;
        }
        hasRoot[0] = r.nextInt(10) < 4;
        // The upper layer first in the list (layer 0), then the lowers top down; each is generated on its own.
        for (int l = 0; l <= lowers; l++) {
            if (!hasRoot[l]) {
                continue;
            }
            entries.add(dir(l, ".", r.nextInt(100) < 4));
            List<String> files = new ArrayList<>();
            fill(entries, l, "", 0, files);
        }
        if (r.nextInt(100) < DEEP_PERCENT) {
            deepTree(entries, hasRoot);
        }
        direct = r.nextInt(100) < DIRECT_PERCENT;
        return new Stack(lowers, List.copyOf(entries));
    }

    /**
     * A chain of directories with long names (100 to 255 bytes, a quarter of them NAME_MAX) whose path reaches
     * 3,900 to 4,080 bytes (so that with a name below it a path from the mount root reaches PATH_MAX, 4,095:
     * {@link #fresh}), in one or two layers (the lower one maybe only its first part), with a file at the bottom
     * and a link to it at the top.
     */
    private void deepTree(List<Entry> entries, boolean[] hasRoot) {
        int target = 3900 + r.nextInt(181);
        // One byte repeated (0xff: not UTF-8), or a 2-byte UTF-8 character.
        String filler = new String[] {"d", "x", "\u00ff", ByteNames.utf8("\u00e9"), "-"}[r.nextInt(5)];
        StringBuilder path = new StringBuilder();
        while (path.length() < target - 2) {
            int room = target - path.length() - (path.length() == 0 ? 0 : 1);
            int len = Math.min(room, r.nextInt(4) == 0 ? NAME_MAX : 100 + r.nextInt(156));
            if (room - len == 1) {
                len--;   // never leave room for less than a two-byte component, nor make one of 256 bytes
            }
            String c = (char) ('a' + r.nextInt(3)) + filler.repeat((len - 1) / filler.length())
                    + "z".repeat((len - 1) % filler.length());
            path.append(path.length() == 0 ? "" : "/").append(c);
            deep.add(ByteNames.text(path.toString()));
        }
        List<Integer> layers = new ArrayList<>();
        for (int l = 0; l < hasRoot.length; l++) {
            if (hasRoot[l]) {
                layers.add(l);
            }
        }
        int first = layers.get(r.nextInt(layers.size()));
        int upTo = deep.size();
        for (int l : layers.subList(layers.indexOf(first), Math.min(layers.size(), layers.indexOf(first) + 2))) {
            for (int i = 0; i < upTo; i++) {
                entries.add(dir(l, deep.get(i), false));
            }
            String bottom = deep.get(upTo - 1);
            entries.add(file(l, bottom + "/" + NEW_NAMES[r.nextInt(3)]));
            upTo = 1 + r.nextInt(deep.size());
        }
        linkTargets.add(deep.get(deep.size() - 1));
        entries.add(new Entry(first, Kind.LINK, "deep", 0777, owner(), owner(), sec(), nsec(), 0, 0, false,
                deep.get(deep.size() - 1), new TreeMap<>(), false));
    }

    private void fill(List<Entry> entries, int layer, String dir, int depth, List<String> files) {
        int max = depth == 0 ? 6 : depth == 1 ? 4 : 3;
        int n = r.nextInt(max + 1);
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < n; i++) {
            names.add(this.names[r.nextInt(this.names.length - (depth > 0 ? 1 : 0))]);
        }
        for (String name : names) {
            String path = dir.isEmpty() ? name : dir + "/" + name;
            int k = r.nextInt(100);
            if (k < 28 && depth < 2) {
                entries.add(dir(layer, path, r.nextInt(100) < 12));
                fill(entries, layer, path, depth + 1, files);
            } else if (k < 63) {
                entries.add(file(layer, path));
                files.add(path);
            } else if (k < 73) {
                entries.add(new Entry(layer, Kind.LINK, path, 0777, owner(), owner(), sec(), nsec(), 0, 0, false,
                        linkTarget(), new TreeMap<>(), false));
            } else if (k < 80 && !files.isEmpty()) {
                entries.add(Entry.hard(layer, path, files.get(r.nextInt(files.size()))));
            } else if (k < 85) {
                entries.add(new Entry(layer, Kind.FIFO, path, FILE_MODES[r.nextInt(FILE_MODES.length)], owner(),
                        owner(), sec(), nsec(), 0, 0, false, null, new TreeMap<>(), false));
            } else {
                entries.add(Entry.whiteout(layer, path));
            }
        }
    }

    private Entry dir(int layer, String path, boolean opaque) {
        return new Entry(layer, Kind.DIR, path, DIR_MODES[r.nextInt(DIR_MODES.length)], owner(), owner(), sec(),
                nsec(), 0, 0, false, null, xattrs(25), opaque);
    }

    private Entry file(int layer, String path) {
        int k = r.nextInt(100);
        long size;
        boolean sparse = false;
        if (k < 10) {
            size = 0;
        } else if (k < 50) {
            size = 1 + r.nextInt(100);
        } else if (k < 78) {
            size = 1 + r.nextInt(8192);
        } else if (k < 90) {
            size = 1 + r.nextInt(70_000);
        } else if (k < 94) {
            size = 1 + r.nextInt(1 << 20);
        } else {
            size = 4096 + r.nextInt(1 << 20);
            sparse = true;
        }
        return new Entry(layer, Kind.FILE, path, FILE_MODES[r.nextInt(FILE_MODES.length)], owner(), owner(), sec(),
                nsec(), size, r.nextLong(1_000_000), sparse, null, xattrs(20), false);
    }

    private SortedMap<String, String> xattrs(int percent) {
        SortedMap<String, String> x = new TreeMap<>();
        if (r.nextInt(100) < percent) {
            int n = 1 + r.nextInt(2);
            for (int i = 0; i < n; i++) {
                x.put(xattrNames[r.nextInt(xattrNames.length)], xattrValue("v"));
            }
        }
        return x;
    }

    private String linkTarget() {
        return linkTargets.get(r.nextInt(linkTargets.size()));
    }

    /** An xattr value in text form: short ASCII, or now and then any bytes. */
    private String xattrValue(String prefix) {
        if (r.nextInt(10) == 0) {
            return ByteNames.text(OddNames.randomBytes(r, 1 + r.nextInt(8)));
        }
        return prefix + r.nextInt(100);
    }

    private int owner() {
        return OWNERS[r.nextInt(OWNERS.length)];
    }

    private long sec() {
        return 1_000_000_000L + r.nextInt(500_000_000);
    }

    private int nsec() {
        return r.nextInt(1_000_000_000);
    }

    // ---- operations ----

    private List<Op> ops(Stack stack) {
        List<String> pool = new ArrayList<>(stack.paths());
        List<String> dirs = new ArrayList<>();
        dirs.add("");
        for (Entry e : stack.entries()) {
            if (e.kind() == Kind.DIR && !e.path().equals(".") && !dirs.contains(e.path())) {
                dirs.add(e.path());
            }
        }
        int n = profile.minOps() + r.nextInt(profile.maxOps() - profile.minOps() + 1);
        List<Op> ops = new ArrayList<>();
        while (ops.size() < n) {
            Op op = op(pool, dirs);
            if (op != null && profile.allows(op, ops)) {
                ops.add(op);
            }
        }
        return ops;
    }

    private String existing(List<String> pool, List<String> dirs) {
        if (pool.isEmpty() || r.nextInt(10) == 0) {
            return fresh(pool, dirs);
        }
        if (!deep.isEmpty() && r.nextInt(100) < 30) {
            List<String> below = pool.stream().filter(this::inDeepTree).toList();
            if (!below.isEmpty()) {
                return below.get(r.nextInt(below.size()));
            }
        }
        return pool.get(r.nextInt(pool.size()));
    }

    private boolean inDeepTree(String path) {
        return !deep.isEmpty() && (path.equals(deep.get(0)) || path.startsWith(deep.get(0) + "/"));
    }

    /** The longest name a layer can hold (the fresh names of the deep tree go one byte over it). */
    static final int NAME_MAX = 255;

    /** The longest path (in bytes, from the sequence's directory) the operations make: PATH_MAX from the root. */
    static final int MAX_PATH = 4095 - "s99/".length();

    /**
     * A name in a directory of the pool (or under a file of it: ENOTDIR), remembered for later operations. In the
     * deep tree, a third of them are long: one that makes the path exactly PATH_MAX from the mount root, or, where
     * there is room for more, one of NAME_MAX bytes or of one byte more (ENAMETOOLONG).
     */
    private String fresh(List<String> pool, List<String> dirs) {
        String parent;
        int k = r.nextInt(10);
        if (!deep.isEmpty() && r.nextInt(100) < 30) {
            parent = deep.get(r.nextInt(deep.size()));
        } else if (k < 6 || pool.isEmpty()) {
            parent = dirs.get(r.nextInt(dirs.size()));
        } else {
            parent = pool.get(r.nextInt(pool.size()));
        }
        if (parent.split("/").length >= 4 && !inDeepTree(parent)) {
            parent = "";
        }
        String name = newNames[r.nextInt(newNames.length)];
        int room = MAX_PATH - ByteNames.length(parent) - 1;
        boolean longName = inDeepTree(parent) && room >= 1 && r.nextInt(3) == 0;
        if (longName && room <= NAME_MAX) {
            name = ByteNames.text("n" + "x".repeat(room - 1));   // exactly PATH_MAX from the mount root
        } else if (longName) {
            // NAME_MAX, or one byte more (ENAMETOOLONG), in a path within PATH_MAX.
            name = ByteNames.text("n" + "x".repeat(NAME_MAX - 1 + (r.nextBoolean() ? 1 : 0)));
        } else if (ByteNames.length(name) > room) {
            name = NEW_NAMES[r.nextInt(NEW_NAMES.length)];
        }
        String p = parent.isEmpty() ? name : parent + "/" + name;
        if (!pool.contains(p)) {
            pool.add(p);
        }
        return p;
    }

    private String target(List<String> pool, List<String> dirs) {
        return r.nextBoolean() ? existing(pool, dirs) : fresh(pool, dirs);
    }

    private int mode() {
        return OP_MODES[r.nextInt(OP_MODES.length)];
    }

    private String time() {
        int k = r.nextInt(100);
        if (k < profile.utimeSpecialPercent() / 2) {
            return "NOW";
        }
        if (k < profile.utimeSpecialPercent()) {
            return "OMIT";
        }
        return Stack.time(sec(), nsec());
    }

    private int ownerArg() {
        int k = r.nextInt(6);
        return k == 0 ? -1 : OWNERS[r.nextInt(OWNERS.length)];
    }

    private Op op(List<String> pool, List<String> dirs) {
        int uid = r.nextInt(100) < profile.unprivilegedPercent() ? USERS[r.nextInt(USERS.length)] : 0;
        int k = r.nextInt(125);
        String slot = Integer.toString(r.nextInt(Exec.SLOTS));
        if (k >= 120) {
            return k < 122 ? directIo(slot) : new Op(uid, "mknod", target(pool, dirs), Stack.octal(mode()),
                    new String[] {"reg", "sock", "chr"}[r.nextInt(3)]);
        }
        if (direct && k >= 14 && k < 29 && r.nextBoolean()) {
            return directIo(slot);
        }
        if (k < 14) {
            String flags = openFlags();
            boolean keep = r.nextInt(10) < 7;
            String path = flags.contains("CREAT") ? target(pool, dirs) : existing(pool, dirs);
            return new Op(uid, "open", keep ? slot : "-", path, flags, Stack.octal(mode()));
        }
        if (k < 24) {
            return new Op(0, "write", slot, Long.toString(offset()), Integer.toString(length()),
                    Long.toString(r.nextLong(1_000_000)));
        }
        if (k < 29) {
            return new Op(0, "read", slot, Long.toString(offset()), Integer.toString(length()));
        }
        if (k < 31) {
            return new Op(0, "ftruncate", slot, Long.toString(offset()));
        }
        if (k < 33) {
            // fchmod: a SETATTR on the descriptor's node, whatever its name is now (or none).
            return r.nextInt(3) == 0 ? new Op(uid, "fchmod", slot, Stack.octal(mode())) : new Op(0, "fstat", slot);
        }
        if (k < 36) {
            return new Op(0, "close", slot);
        }
        if (k < 40) {
            return new Op(uid, "truncate", existing(pool, dirs), Long.toString(offset()));
        }
        if (k < 48) {
            return new Op(uid, "unlink", existing(pool, dirs));
        }
        if (k < 54) {
            return new Op(uid, "rmdir", existing(pool, dirs));
        }
        if (k < 61) {
            String p = target(pool, dirs);
            if (!dirs.contains(p)) {
                dirs.add(p);
            }
            return new Op(uid, "mkdir", p, Stack.octal(mode()));
        }
        if (k < 73) {
            String from = existing(pool, dirs);
            String to;
            int t = r.nextInt(20);
            if (t == 0) {
                to = from + "/" + NEW_NAMES[r.nextInt(NEW_NAMES.length)];   // into itself: EINVAL or ENOTDIR
            } else {
                to = target(pool, dirs);
            }
            String flags = "0";
            if (r.nextInt(100) < profile.renameFlagsPercent()) {
                flags = new String[] {"NOREPLACE", "EXCHANGE", "WHITEOUT"}[r.nextInt(3)];
            }
            return new Op(uid, "rename", from, to, flags);
        }
        if (k < 78) {
            return new Op(uid, "link", existing(pool, dirs), target(pool, dirs));
        }
        if (k < 81) {
            return new Op(uid, "symlink", linkTarget(), target(pool, dirs));
        }
        if (k < 85) {
            return new Op(uid, "chmod", existing(pool, dirs), Stack.octal(mode()));
        }
        if (k < 89) {
            return new Op(uid, r.nextBoolean() ? "chown" : "lchown", existing(pool, dirs),
                    Integer.toString(ownerArg()), Integer.toString(ownerArg()));
        }
        if (k < 93) {
            return new Op(uid, r.nextInt(3) == 0 ? "utimens" : "lutimens", existing(pool, dirs), time(), time());
        }
        if (k < 97) {
            String[] fl = {"0", "0", "CREATE", "REPLACE"};
            return new Op(uid, "setxattr", existing(pool, dirs), xattrName(),
                    "=" + (r.nextInt(8) == 0 ? "" : xattrValue("w")), fl[r.nextInt(fl.length)]);
        }
        if (k < 100) {
            return new Op(uid, "removexattr", existing(pool, dirs), xattrName());
        }
        if (k < 102) {
            return new Op(uid, "mkfifo", target(pool, dirs), Stack.octal(mode()));
        }
        if (k < 107) {
            return new Op(uid, "stat", existing(pool, dirs));
        }
        if (k < 111) {
            return new Op(uid, "readdir", r.nextInt(4) == 0 ? "." : existing(pool, dirs));
        }
        if (k < 112) {
            return new Op(uid, "readlink", existing(pool, dirs));
        }
        if (k < 116) {
            return new Op(uid, "cat", existing(pool, dirs));
        }
        if (k < 118) {
            return new Op(uid, "getxattr", existing(pool, dirs), xattrName());
        }
        return new Op(uid, "listxattr", existing(pool, dirs));
    }

    private String openFlags() {
        List<String> f = new ArrayList<>();
        f.add(new String[] {"RDONLY", "WRONLY", "RDWR", "RDWR"}[r.nextInt(4)]);
        if (r.nextInt(100) < 45) {
            f.add("CREAT");
            if (r.nextInt(100) < 30) {
                f.add("EXCL");
            }
        }
        if (r.nextInt(100) < 20) {
            f.add("TRUNC");
        }
        if (r.nextInt(100) < 15) {
            f.add("APPEND");
        }
        if (r.nextInt(100) < 4) {
            f.add("DIRECTORY");
        }
        if (r.nextInt(100) < 8) {
            f.add("NOFOLLOW");
        }
        if (direct ? r.nextBoolean() : r.nextInt(100) < 2) {
            f.add("DIRECT");
        }
        return String.join("|", f);
    }

    private String xattrName() {
        return xattrNames[r.nextInt(xattrNames.length)];
    }

    /**
     * I/O for a descriptor opened with O_DIRECT: {@code dwrite SLOT OFFSET LENGTH SEED MEM} and {@code dread SLOT
     * OFFSET LENGTH MEM}, MEM the buffer's distance past a 4,096-byte boundary. Mostly aligned (offset, length and
     * buffer multiples of 4,096); a quarter misaligned in one of the three, by 512 (the disk's logical block) or by
     * one byte, where O_DIRECT may answer EINVAL.
     */
    private Op directIo(String slot) {
        long off = 4096L * r.nextInt(300);
        int len = 4096 * (1 + r.nextInt(16));
        int mem = 0;
        if (r.nextInt(4) == 0) {
            int by = r.nextBoolean() ? 512 : 1;
            switch (r.nextInt(3)) {
                case 0 -> off += by;
                case 1 -> len += by;
                default -> mem = by;
            }
        }
        if (r.nextBoolean()) {
            return new Op(0, "dwrite", slot, Long.toString(off), Integer.toString(len),
                    Long.toString(r.nextLong(1_000_000)), Integer.toString(mem));
        }
        return new Op(0, "dread", slot, Long.toString(off), Integer.toString(len), Integer.toString(mem));
    }

    private long offset() {
        int k = r.nextInt(10);
        if (k < 3) {
            return 0;
        }
        if (k < 6) {
            return r.nextInt(200);
        }
        if (k < 8) {
            return r.nextInt(70_000);
        }
        return r.nextInt(1_200_000);
    }

    private int length() {
        int k = r.nextInt(10);
        if (k == 0) {
            return 0;
        }
        if (k < 6) {
            return 1 + r.nextInt(100);
        }
        if (k < 9) {
            return 1 + r.nextInt(8192);
        }
        return 1 + r.nextInt(70_000);
    }
}
