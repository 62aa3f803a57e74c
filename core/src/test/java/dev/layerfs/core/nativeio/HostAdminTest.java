package dev.layerfs.core.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class HostAdminTest {
    private static final String HOST = "         0          0 4294967295\n";
    private static final String ROOTLESS = "         0       1000          1\n         1     100000      65536\n";
    /** Root's full set (bit 21, CAP_SYS_ADMIN, among them). */
    private static final String ROOT_STATUS = "Name:\tjava\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\n"
            + "CapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";

    @Test
    void rootOfTheHostIsAble() {
        assertTrue(HostAdmin.able(ROOT_STATUS, HOST));
    }

    @Test
    void rootOfAnotherUserNamespaceIsNot() {
        assertFalse(HostAdmin.able(ROOT_STATUS, ROOTLESS), "capabilities there are the namespace's own");
    }

    @Test
    void withoutCapSysAdminItIsNot() {
        String dropped = ROOT_STATUS.replace("CapEff:\t000001ffffffffff", "CapEff:\t000001ffffdfffff");
        assertFalse(HostAdmin.able(dropped, HOST));
        assertFalse(HostAdmin.able(ROOT_STATUS.replace("CapEff:\t000001ffffffffff", "CapEff:\t0000000000000000"),
                HOST), "an unprivileged user");
        assertTrue(HostAdmin.able(ROOT_STATUS.replace("CapEff:\t000001ffffffffff", "CapEff:\t0000000000200000"),
                HOST), "CAP_SYS_ADMIN alone");
    }

    @Test
    void aStatusWithoutCapabilitiesLeavesItToTheKernel() {
        assertTrue(HostAdmin.able("Name:\tjava\n", HOST));
    }

    @Test
    void onlyTheIdentityOfEveryIdIsTheInitialNamespace() {
        assertTrue(HostAdmin.identityMap(HOST));
        assertFalse(HostAdmin.identityMap(ROOTLESS));
        assertFalse(HostAdmin.identityMap("0 0 65536\n"), "a namespace mapping only some ids to themselves");
        assertFalse(HostAdmin.identityMap(""));
    }

    @Test
    void thisProcessIsJudgedFromItsOwnFiles() throws IOException {
        assertEquals(HostAdmin.able(Files.readString(Path.of("/proc/self/status"), StandardCharsets.US_ASCII),
                Files.readString(Path.of("/proc/self/uid_map"), StandardCharsets.US_ASCII)), HostAdmin.able());
    }
}
