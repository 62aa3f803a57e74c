package dev.layerfs.fuse.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The kernel's node ids and what they stand for, like go-fuse's path bridge: a node is one object of the merged
 * view. Hard links that the overlay shows as one inode (made through the mount, or upper-layer links) are one
 * node, found by the inode number the engine reports, so the kernel has one inode for them; lower-layer hard
 * links stay one node per name, as the kernel overlay keeps them apart (a copy-up breaks them). A node
 * knows its names as links (parent node, name); its path is computed from them, so a rename moves a whole subtree
 * by changing one link. Lookup counts follow the kernel's: each entry handed out (LOOKUP, CREATE, MKNOD, MKDIR,
 * SYMLINK, LINK, each READDIRPLUS entry) adds one, FORGET takes them off, and a node at zero is dropped, so the
 * table holds only what the kernel holds.
 *
 * <p>Node ids are never reused within a mount, so the generation is the same for every node. Names are Latin-1
 * strings, one char per byte. One lock guards the table; nothing here calls the engine.
 */
final class NodeTable {
    /** Ids are never reused, so a (node id, generation) pair never names two objects. */
    static final long GENERATION = 1;
    private static final int MAX_DEPTH = 4096;

    /** One name of a node: its parent and the name in it. */
    record Link(Node parent, String name) {}

    /** A node: its id, file type and inode number, names, the kernel's lookup count, and its open handles. */
    static final class Node {
        final long id;
        private int type;
        private long ino;
        private long lookups;
        private boolean dropped;
        /** A hard link shown as one inode: registered by inode number so that its other names join it. */
        private boolean shared;
        /** A directory whose listing changed in a way its mtime does not show (a copy-up below it). */
        private boolean listingChanged;
        private final List<Link> links = new ArrayList<>(1);
        private final Map<String, Node> children = new HashMap<>();
        private final Set<Long> handles = new LinkedHashSet<>();

        private Node(long id, int type, long ino) {
            this.id = id;
            this.type = type;
            this.ino = ino;
        }

        @Override
        public String toString() {
            return "node " + id + " (ino " + ino + ", " + links.size() + " names, " + lookups + " lookups)";
        }
    }

    private static final long[] NONE = {};
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;

    private final Map<Long, Node> byId = new HashMap<>();
    private final Map<Long, Node> byIno = new HashMap<>();
    private final Node root;
    private long nextId = FuseAbi.ROOT_ID + 1;

    /**
     * Where separate nodes can be names of one object (index=on: the names of a lower hard link not copied up
     * yet), the live regular-file nodes by inode number, which {@link #othersOfInode} answers from; null
     * elsewhere, where no node has another node's object and nothing is kept.
     */
    private final NodesByInode<Node> regularByIno;

    NodeTable(long rootIno) {
        this(rootIno, false);
    }

    NodeTable(long rootIno, boolean namesShareObjects) {
        this.regularByIno = namesShareObjects ? new NodesByInode<>(n -> n.id) : null;
        root = new Node(FuseAbi.ROOT_ID, S_IFDIR, rootIno);
        root.lookups = 1;
        byId.put(root.id, root);
    }

    Node root() {
        return root;
    }

    /** The live node with this id, or null (never handed out, or forgotten). */
    synchronized Node get(long id) {
        return byId.get(id);
    }

    /** How many nodes the table holds, the root included. */
    synchronized int size() {
        return byId.size();
    }

    synchronized long lookups(Node n) {
        return n.lookups;
    }

    synchronized long ino(Node n) {
        return n.ino;
    }

    /** Every name of a node, as paths. */
    synchronized List<String> paths(Node n) {
        List<String> out = new ArrayList<>();
        for (Link l : n.links) {
            String parent = path(l.parent());
            if (parent != null) {
                out.add(parent.isEmpty() ? l.name() : parent + "/" + l.name());
            }
        }
        return out;
    }

    /**
     * The merged path of a node ("" for the root, "a/b" below it), by its first name; null for a node that has
     * no name any more (removed while the kernel still holds it).
     */
    synchronized String path(Node n) {
        if (n == root) {
            return "";
        }
        if (!n.links.isEmpty() && n.links.get(0).parent() == root) {
            return n.links.get(0).name(); // a name in the root: its own path
        }
        // The names from the node up to the root, then joined root first: one pass each, no shifting.
        String[] names = new String[8];
        int depth = 0;
        int length = 0;
        for (Node cur = n; cur != root; ) {
            if (cur.links.isEmpty() || depth > MAX_DEPTH) {
                return null;
            }
            Link l = cur.links.get(0);
            if (depth == names.length) {
                names = Arrays.copyOf(names, depth * 2);
            }
            names[depth++] = l.name();
            length += l.name().length() + 1;
            cur = l.parent();
        }
        StringBuilder sb = new StringBuilder(length - 1);
        sb.append(names[depth - 1]);
        for (int i = depth - 2; i >= 0; i--) {
            sb.append('/').append(names[i]);
        }
        return sb.toString();
    }

    /** The path of a name in a directory node, or null if the directory has no name. */
    synchronized String childPath(Node parent, String name) {
        String p = path(parent);
        if (p == null) {
            return null;
        }
        return p.isEmpty() ? name : p + "/" + name;
    }

    /** The node known under a name, or null. */
    synchronized Node child(Node parent, String name) {
        return parent.children.get(name);
    }

    /**
     * A name was looked up (or created) and found to be an object with this inode number and file type: the
     * node for it, with one more lookup. The name keeps its node while the inode number stays (or changes
     * under a node with only this name: a copy-up); a {@code shared} object (a hard link the overlay shows as
     * one inode) joins the named node that already has its inode number; anything else gets a new node.
     */
    synchronized Node lookedUp(Node parent, String name, long ino, int mode, boolean shared) {
        int type = mode & S_IFMT;
        Node n = parent.children.get(name);
        if (n == null || n.type != type || n.ino != ino) {
            Node same = shared ? byIno.get(ino) : null;
            if (same != null && same != n && same.type == type && !same.links.isEmpty()) {
                if (n != null) {
                    detach(n, parent, name);
                }
                attach(same, parent, name);
                n = same;
            } else if (n != null && n.type == type && n.links.size() == 1) {
                rekey(n, ino);
            } else {
                if (n != null) {
                    detach(n, parent, name);
                }
                n = create(type, ino);
                attach(n, parent, name);
            }
        }
        if (shared) {
            share(n);
        }
        revive(n);
        n.lookups++;
        return n;
    }

    /** A node forgotten but still held (names below it, open handles) is handed out again: back in the id map. */
    private void revive(Node n) {
        if (n.dropped) {
            n.dropped = false;
            byId.put(n.id, n);
            if (inInodeMap(n)) {
                regularByIno.add(n.ino, n);
            }
        }
    }

    /** LINK made {@code name} in {@code parent} another name of {@code n}, now with this inode number. */
    synchronized Node linked(Node n, Node parent, String name, long ino) {
        Node old = parent.children.get(name);
        if (old != null && old != n) {
            detach(old, parent, name);
        }
        if (old != n) {
            attach(n, parent, name);
        }
        rekey(n, ino);
        share(n);
        revive(n);
        n.lookups++;
        return n;
    }

    /** Fresh attributes of a node showed this inode number (a copy-up changes it). */
    synchronized void observed(Node n, long ino) {
        if (n != root && n.ino != ino && !n.links.isEmpty()) {
            rekey(n, ino);
        }
    }

    /**
     * The ids of the nodes whose cached state a copy-up of {@code path} made stale, where the kernel holds them: the
     * object's node (and, for a regular file, every other node with its inode number: the names of an indexed lower
     * hard link) and, where the object copied up is a directory or a node the kernel does not hold, its parent
     * directory's. The parent's listing may now show another d_ino, so it is marked
     * {@linkplain #takeListingChanged changed} in every case. A copy-up puts the upper parent's times back, so a
     * non-directory copied up into a parent already on the upper layer changes nothing the parent shows but its
     * ctime, which the kernel keeps as it was (see README "How layerfs differs"): one GETATTR fewer per
     * {@code chmod} of a lower file. A directory copied up changes the parent's link count. The path is walked
     * by name from the root.
     */
    synchronized long[] copiedUp(String path) {
        if (path.isEmpty()) {
            return new long[] {root.id};
        }
        Node parent = root;
        String[] names = path.split("/", -1);
        for (int i = 0; i < names.length - 1 && parent != null; i++) {
            parent = parent.children.get(names[i]);
        }
        if (parent == null || parent.dropped) {
            return new long[0];
        }
        parent.listingChanged = true;
        Node n = parent.children.get(names[names.length - 1]);
        if (n == null || n.dropped) {
            return new long[] {parent.id};
        }
        if (n.type == S_IFDIR) {
            return new long[] {n.id, parent.id};
        }
        if (regularByIno == null || n.type != S_IFREG) {
            return new long[] {n.id};
        }
        // With index=on the other names of a lower hard link show the object copied up (the same inode number)
        // but are nodes of their own until they are copied up too: their attributes and pages are stale as well.
        long[] others = othersOfInode(n);
        long[] ids = java.util.Arrays.copyOf(others, others.length + 1);
        ids[others.length] = n.id;
        return ids;
    }

    /**
     * The ids of the other live regular-file nodes with a regular file node's inode number (named or not: a name
     * removed while open is still a name of the object to its descriptors); empty where names do not share
     * objects, without taking the table's lock (every WRITE asks). Costs the number of nodes with that inode
     * number.
     */
    long[] othersOfInode(Node n) {
        if (regularByIno == null) {
            return NONE;
        }
        synchronized (this) {
            return n.type != S_IFREG ? NONE : regularByIno.othersThan(n.ino, n);
        }
    }

    /** How many inode numbers the per-inode map holds (0 where names do not share objects). */
    synchronized int inodesTracked() {
        return regularByIno == null ? 0 : regularByIno.inodes();
    }

    /**
     * The node a removal of {@code name} would leave without a name while the kernel holds it, where the kernel
     * may still ask for its attributes without a handle: any object but a regular file (whose open descriptors
     * come with handles), with this one name. Null otherwise.
     */
    synchronized Node namelessAfterRemoval(Node parent, String name) {
        Node n = parent.children.get(name);
        if (n == null || n.dropped || n.type == S_IFREG || n.links.size() != 1) {
            return null;
        }
        return n;
    }

    /**
     * Whether a copy-up below the directory changed its listing (an entry's d_ino) since the last call, which its
     * mtime does not show, so the kernel's cached listing must not be kept; forgets that it did.
     */
    synchronized boolean takeListingChanged(Node dir) {
        boolean changed = dir.listingChanged;
        dir.listingChanged = false;
        return changed;
    }

    /** Whether a node is one the kernel holds, by at least one name. */
    synchronized boolean live(Node n) {
        return !n.dropped && (n == root || !n.links.isEmpty());
    }

    /** Whether a node has no name left. */
    synchronized boolean nameless(Node n) {
        return n != root && n.links.isEmpty();
    }

    /** UNLINK or RMDIR removed a name. */
    synchronized void removed(Node parent, String name) {
        Node n = parent.children.get(name);
        if (n != null) {
            detach(n, parent, name);
        }
    }

    /**
     * The object behind a node's names is not the one its open files hold any more (a copy-up under a
     * passthrough open): its names leave it, so the next lookup of each makes a new node, while the kernel's
     * inode keeps the old one for the descriptors already open.
     */
    synchronized void replaced(Node n) {
        if (n == root) {
            return;
        }
        for (Link l : List.copyOf(n.links)) {
            detach(n, l.parent(), l.name());
        }
        if (byIno.get(n.ino) == n) {
            byIno.remove(n.ino);
        }
        n.shared = false;
    }

    /** RENAME moved a name, replacing what the new name was; with {@code exchange} the two swapped. */
    synchronized void renamed(Node oldParent, String oldName, Node newParent, String newName, boolean exchange) {
        Node moved = oldParent.children.get(oldName);
        Node target = newParent.children.get(newName);
        if (moved != null && moved == target) {
            return;
        }
        if (moved != null) {
            detach(moved, oldParent, oldName);
        }
        if (target != null) {
            detach(target, newParent, newName);
        }
        if (moved != null) {
            attach(moved, newParent, newName);
        }
        if (exchange && target != null) {
            attach(target, oldParent, oldName);
        }
    }

    /** FORGET: the kernel dropped {@code count} lookups; a node at zero leaves the table. */
    synchronized void forget(long id, long count) {
        Node n = byId.get(id);
        if (n == null || n == root) {
            return;
        }
        n.lookups -= count;
        if (n.lookups <= 0) {
            n.lookups = 0;
            byId.remove(n.id);
            if (inInodeMap(n)) {
                regularByIno.remove(n.ino, n);
            }
            n.dropped = true;
            release(n);
        }
    }

    /** Records an open handle of a node (for the attributes of a node without a name). */
    synchronized void opened(Node n, long fh) {
        n.handles.add(fh);
    }

    synchronized void closed(Node n, long fh) {
        n.handles.remove(fh);
        if (n.dropped) {
            release(n);
        }
    }

    /** Some open handle of the node, or -1. */
    synchronized long anyHandle(Node n) {
        return n.handles.isEmpty() ? -1 : n.handles.iterator().next();
    }

    /**
     * Takes a dropped node out of its parents' maps, unless names below it are still known (the kernel forgets
     * children first, but a late one keeps its path working); the last of them leaving takes it along.
     */
    private void release(Node n) {
        if (!n.children.isEmpty() || !n.handles.isEmpty()) {
            return;
        }
        for (Link l : List.copyOf(n.links)) {
            detach(n, l.parent(), l.name());
        }
        if (byIno.get(n.ino) == n) {
            byIno.remove(n.ino);
        }
    }

    private Node create(int type, long ino) {
        Node n = new Node(nextId++, type, ino);
        byId.put(n.id, n);
        if (inInodeMap(n)) {
            regularByIno.add(ino, n);
        }
        return n;
    }

    /** Whether a node belongs in {@link #regularByIno}: a regular file the kernel holds, names sharing objects. */
    private boolean inInodeMap(Node n) {
        return regularByIno != null && n.type == S_IFREG && !n.dropped;
    }

    /** Makes a node findable by its inode number: other names of it join it. */
    private void share(Node n) {
        n.shared = true;
        byIno.put(n.ino, n);
    }

    private void rekey(Node n, long ino) {
        if (byIno.get(n.ino) == n) {
            byIno.remove(n.ino);
        }
        if (inInodeMap(n)) {
            regularByIno.remove(n.ino, n);
            regularByIno.add(ino, n);
        }
        n.ino = ino;
        if (n.shared) {
            byIno.put(ino, n);
        }
    }

    private void attach(Node n, Node parent, String name) {
        parent.children.put(name, n);
        n.links.add(new Link(parent, name));
    }

    private void detach(Node n, Node parent, String name) {
        if (parent.children.get(name) == n) {
            parent.children.remove(name);
            if (parent.dropped) {
                release(parent);
            }
        }
        n.links.remove(new Link(parent, name));
        if (n.links.isEmpty() && byIno.get(n.ino) == n) {
            byIno.remove(n.ino);
        }
    }
}
