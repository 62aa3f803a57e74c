# layerfs — build helpers. See scripts/install-deps.sh for system packages.
#
#   make / make build   build and install all modules (tests skipped)
#   make test           install system deps (with podman, buildah, runc, busybox-static, skopeo, umoci for the
#                       real-client and image tests, containerd for the snapshotter's), then build and run all
#                       tests
#   make demo           build, install the system packages a mount needs (libfuse 2, fuse3, ...), then run
#                       scripts/demo.sh
#   make bench          benchmark against the kernel overlay and fuse-overlayfs (root; installs fio,
#                       builds if needed; results/ gets Markdown, JSON, log, PNG). QUICK=1: smaller sizes;
#                       BENCHFLAGS: more bench.py options (see scripts/bench/README.md)
#   make install        link the layerfs command into $(PREFIX)/bin (default /usr/local), where mount(8) finds it
#   make uninstall      remove that link
#   make fuzz           a long differential campaign against the kernel overlay (make test runs a bounded one):
#                       make fuzz SEQS=N SEED=S [PROFILE=bounded|long|full] [KERNEL_OPTS=...] [LAYERFS_OPTS=...]
#                       [REPLAY=SEQSEED] [TRANSPORT=kernel|libfuse2]; PROFILE=long: 40 to 60 operations per
#                       sequence; TRANSPORT: the FUSE transport of the layerfs mounts (default: the pom's)
#   make clean          remove build output
#
# Variables (override on the command line or in the environment):
#   MVN               Maven executable (default: mvn)
#   MVNFLAGS          flags for quiet goals (default: -B -q)
#   TESTFLAGS         flags for `make test` (no -q: Surefire's "Tests run:"
#                     summary must stay visible)
#   MAVEN_REPO_LOCAL  local repository; empty = Maven's own default
#                     (~/.m2/repository, or <localRepository> in settings.xml)
#   OFFLINE=1         run Maven offline (-o), using only the local repository

MVN       ?= mvn
MVNFLAGS  ?= -B -q
TESTFLAGS ?= -B -ntp
MAVEN_REPO_LOCAL ?=
OFFLINE   ?=

PREFIX    ?= /usr/local
SEQS      ?= 200
SEED      ?= 1
PROFILE   ?= bounded
KERNEL_OPTS ?=
LAYERFS_OPTS ?=
REPLAY    ?=
TRANSPORT ?=

MVN_COMMON := $(if $(MAVEN_REPO_LOCAL),-Dmaven.repo.local=$(MAVEN_REPO_LOCAL)) $(if $(OFFLINE),-o)

.PHONY: all build test demo clean install uninstall fuzz bench

all: build

build:
	$(MVN) $(MVNFLAGS) $(MVN_COMMON) -DskipTests install
	@bin/layerfs --train-startup || echo "note: no class-data archive; layerfs starts a little slower"
	@bin/layerfs image --train-startup || echo "note: no class-data archive for layerfs image; it starts a little slower"
	@bin/layerfs snapshotter --train-startup || echo "note: no class-data archive for layerfs snapshotter; it starts a little slower"

test:
	bash scripts/install-deps.sh containers
	$(MVN) $(TESTFLAGS) $(MVN_COMMON) verify

# The packages first: the build's start-up training runs the libfuse2 transport's set-up too, which needs libfuse 2.
demo:
	bash scripts/install-deps.sh
	$(MAKE) build
	bash scripts/demo.sh

bench:
	QUICK="$(QUICK)" MAKE="$(MAKE)" bash scripts/bench/run.sh $(BENCHFLAGS)

# The layerfs command is the mount client, a binary (daemon/src/main/c): it hands a mount over to a running
# `layerfs serve` with no script in between, and runs bin/layerfs for everything else. A link, not a copy: it
# finds bin/layerfs, and that its jars, beside where the link leads.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	ln -sfn $(CURDIR)/daemon/target/layerfs-client $(DESTDIR)$(PREFIX)/bin/layerfs

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/layerfs

fuzz:
	$(MVN) $(MVNFLAGS) $(MVN_COMMON) -DskipTests install
	$(MVN) $(TESTFLAGS) $(MVN_COMMON) test -pl native-tests -Dtest='DifferentialFuzzTest#campaign' \
	  -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.seqs=$(SEQS) -Dfuzz.seed=$(SEED) -Dfuzz.profile=$(PROFILE) \
	  $(if $(KERNEL_OPTS),-Dfuzz.kernelOptions=$(KERNEL_OPTS)) $(if $(LAYERFS_OPTS),-Dfuzz.layerfsOptions=$(LAYERFS_OPTS)) \
	  $(if $(REPLAY),-Dfuzz.replay=$(REPLAY)) $(if $(TRANSPORT),-Dlayerfs.transport=$(TRANSPORT))

clean:
	$(MVN) $(MVNFLAGS) $(MVN_COMMON) clean
