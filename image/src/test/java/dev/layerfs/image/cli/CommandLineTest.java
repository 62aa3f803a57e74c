package dev.layerfs.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandLineTest {
    private static final Usage COMMIT = CommitCommand.USAGE;

    @Test
    void optionsAndPositionalsComeInAnyOrderInEveryForm() throws UsageException {
        Args a = Args.parse(COMMIT, List.of("--tag", "x:1", "mnt", "--created-by=echo a=b", "--store", "/s"));
        assertEquals("mnt", a.positional(0));
        assertEquals("x:1", a.value("--tag", null));
        assertEquals("echo a=b", a.value("--created-by", null));
        assertEquals("/s", a.value("--store", null));
        assertEquals("", a.value("--comment", ""));

        Args m = Args.parse(MountCommand.USAGE, List.of("img@2", "-oephemeral", "/mnt", "-o", "ro"));
        assertEquals(List.of("ephemeral", "ro"), m.values("-o"));
        assertEquals("/mnt", m.positional(1));

        Args h = Args.parse(HistoryCommand.USAGE, List.of("--no-trunc", "--", "--odd-name"));
        assertTrue(h.flag("--no-trunc"));
        assertEquals("--odd-name", h.positional(0));

        Args c = Args.parse(COMMIT, List.of("--tag", "x", "--created-by", "-h", "mnt"));
        assertEquals("-h", c.value("--created-by", null));
        assertFalse(c.help());
        assertTrue(Args.parse(COMMIT, List.of("--help")).help());

        Args b = Args.parse(BlameCommand.USAGE, List.of("img", "/a", "/b"));
        assertEquals(List.of("/a", "/b"), b.positionalsFrom(1));
        assertFalse(Args.parse(BlameCommand.USAGE, List.of("img")).positionalsFrom(1).iterator().hasNext());
    }

    @Test
    void aCommandLineItCannotTakeSaysWhy() {
        assertEquals("unknown option --bogus",
                assertThrows(UsageException.class, () -> Args.parse(COMMIT, List.of("--bogus", "mnt"))).getMessage());
        assertEquals("the option --tag NAME:TAG is required",
                assertThrows(UsageException.class, () -> Args.parse(COMMIT, List.of("mnt"))).getMessage());
        assertEquals("missing MOUNTPOINT|UPPERDIR",
                assertThrows(UsageException.class, () -> Args.parse(COMMIT, List.of("--tag", "x"))).getMessage());
        assertEquals("unexpected argument extra", assertThrows(UsageException.class,
                () -> Args.parse(COMMIT, List.of("--tag", "x", "mnt", "extra"))).getMessage());
        assertEquals("the option --tag needs a value (NAME:TAG)",
                assertThrows(UsageException.class, () -> Args.parse(COMMIT, List.of("mnt", "--tag"))).getMessage());
        assertEquals("the option --no-trunc takes no value", assertThrows(UsageException.class,
                () -> Args.parse(HistoryCommand.USAGE, List.of("--no-trunc=yes", "img"))).getMessage());
        assertEquals("missing IMAGE",
                assertThrows(UsageException.class, () -> Args.parse(RmCommand.USAGE, List.of())).getMessage());
    }

    @Test
    void usageErrorsExitTwoWithTheUsageLineAndHelpAndVersionExitZero() {
        Output o = run("commit", "mnt");
        assertEquals(2, o.status);
        assertEquals("layerfs image: the option --tag NAME:TAG is required\nUsage: layerfs image commit [--store DIR]"
                + " --tag NAME:TAG [--image IMAGE[@N]] [--created-by TEXT] [--comment TEXT] MOUNTPOINT|UPPERDIR\n",
                o.err);

        o = run("frobnicate");
        assertEquals(2, o.status);
        assertTrue(o.err.startsWith("layerfs image: unknown subcommand frobnicate\nUsage: layerfs image "), o.err);
        assertEquals(2, run().status);

        o = run("--version");
        assertEquals(0, o.status);
        assertEquals(ImageCommand.VERSION + "\n", o.out);

        o = run("--help");
        assertEquals(0, o.status);
        assertTrue(o.out.contains("\n  import  Import a docker-archive"), o.out);

        o = run("help", "waste");
        assertEquals(0, o.status);
        assertTrue(o.out.startsWith("Usage: layerfs image waste [--store DIR] [--top N] IMAGE\n"), o.out);
        assertTrue(o.out.contains("  --top N "), o.out);
        assertEquals(o.out, run("waste", "--help").out);
        // --store before the subcommand is the subcommand's
        assertEquals(o.out, run("--store", "/nowhere", "waste", "--help").out);
    }

    private record Output(int status, String out, String err) {}

    private static Output run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            int status = ImageCommand.run(args);
            return new Output(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }
}
