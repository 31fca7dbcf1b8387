# entropic — build, test, demo.
#   make            release build: build/entropic, build/libentropic.a, build/run_tests
#   make test       build release + ASan/UBSan, run both suites, the install check, the fuzz regression run
#   make fuzz       each fuzz target FUZZ_SECONDS seconds (bench/fuzz.sh); make check-fuzz: the short regression run
#   scripts/test.sh installs the Debian packages first, then runs make test (the README's command)
#   scripts/demo.sh installs, builds, trains Entropy-SGD vs Adam on Fashion-MNIST (the main job)
#   make asan       the sanitizer build alone (build-asan/)
#   make install    header, libentropic.a, libentropic.so (soname), entropic.pc, the binary
#                   into PREFIX (default /usr/local), staged under DESTDIR if set
#   make check-install  install into a temporary DESTDIR, build examples/ against it, run them
CC      ?= gcc
comma   := ,
BUILD   ?= build
OPT     ?= -O3
SAN     ?=
# -fno-trapping-math: nothing here reads floating-point exception flags; it
# lets GCC compute both sides of a float select and blend them, which the
# vector loops over core/vmath.h need (the values are the same).
CFLAGS  := -std=c11 $(OPT) -g -fno-math-errno -fno-trapping-math -Wall -Wextra -Wno-unused-parameter -fopenmp \
           -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(SAN) $(EXTRA_CFLAGS) $(shell pkg-config --cflags cairo)
OPENBLAS_DIR ?= $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/*/openblas-openmp))
LDLIBS  := $(if $(OPENBLAS_DIR),-L$(OPENBLAS_DIR) -Wl$(comma)-rpath$(comma)$(OPENBLAS_DIR)) -lopenblas -llapack -lz -lm $(shell pkg-config --libs cairo)
LDFLAGS := -fopenmp $(SAN)

# MPI (replica methods and data-parallel training over ranks): built when
# mpicc is found (Debian: libopenmpi-dev), else src/dist/serial.c's one-
# process stub. `make MPICC=` forces the stub. Only src/dist/ sees mpi.h.
MPICC   ?= $(shell command -v mpicc 2>/dev/null)
ifneq ($(strip $(MPICC)),)
MPI_CFLAGS := -DENT_HAVE_MPI $(shell $(MPICC) --showme:compile)
MPI_LIBS   := $(shell $(MPICC) --showme:link)
endif
LDLIBS  += $(MPI_LIBS)

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/% src/reproduce/%,$(LIB_SRC))
CLI_SRC  := $(sort $(wildcard src/cli/*.c src/reproduce/*.c)) bench/gemm_bench.c
# The experiments' definitions, which the tests check against the papers.
REPRO_DEF_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard src/reproduce/exp_*.c)) src/reproduce/registry.c)
TEST_SRC := $(sort $(wildcard tests/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

.PHONY: all lib install uninstall check-install test asan demo setup clean check-release check-asan FORCE bench-gemm bench-hvp bench-layers bench-esgd-overhead
all: $(BUILD)/entropic $(BUILD)/run_tests $(BUILD)/entropic-faults

$(BUILD)/libentropic.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/entropic: $(CLI_OBJ) $(BUILD)/libentropic.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test_list.h: $(TEST_SRC)
	@mkdir -p $(BUILD)
	@grep -ho '^ENT_TEST([a-z0-9_]*)' $(TEST_SRC) | sed 's/^ENT_TEST(\(.*\))/X(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/tests/runner.o: $(BUILD)/test_list.h

# Rebuild src/dist/ when the MPI choice changes (a stamp holding the flags).
$(BUILD)/mpi_flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(MPI_CFLAGS) $(MPI_LIBS)' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/src/dist/%.o: CFLAGS += $(MPI_CFLAGS)
$(filter $(BUILD)/src/dist/%,$(LIB_OBJ)): $(BUILD)/mpi_flags
FORCE:
$(BUILD)/tests/%.o: CFLAGS += -I$(BUILD) -Itests -DENT_CLI_DEFAULT='"$(BUILD)/entropic"'

# Sanitizer builds compile the SIMD kernels at -O2 (at -O1 their register
# tiles live in memory and every access is checked), and the GEMM's
# register-tile files without AddressSanitizer (UBSan stays): checking
# each of their 8-14 loads per k made the sanitizer suite 5.6 min where it
# had taken 3 with OpenBLAS (uninstrumented). What the tile loops read is
# bounded by the tile arithmetic, which the edge-size tests check bit for
# bit in both builds; the packing, the dot kernels and the rest stay
# instrumented. (GCC 12's no_sanitize_address attribute crashes its
# sanopt pass with UBSan on, hence a per-file flag.)
ifneq ($(strip $(SAN)),)
$(BUILD)/src/core/gemm_avx%.o $(BUILD)/src/core/rng_simd.o $(BUILD)/src/layers/conv2d_direct%.o: CFLAGS += -O2
$(BUILD)/src/core/gemm_avx2_kernel.o $(BUILD)/src/core/gemm_avx512_kernel.o: CFLAGS += -fno-sanitize=address
endif

# The test binary counts the allocations of entropic's own code (test_alloc.c).
# It also links the CLI's checkpoint loader, which the round-trip test calls
# as `entropic eval --model` does (test_torch_roundtrip.c), and the
# definitions of `entropic reproduce`, which test_reproduce.c checks.
WRAP_ALLOC := $(foreach f,malloc calloc realloc posix_memalign aligned_alloc,-Wl,--wrap=$(f))
$(BUILD)/run_tests: $(TEST_OBJ) $(BUILD)/src/cli/analysis_load.o $(REPRO_DEF_OBJ) $(BUILD)/libentropic.a
	$(CC) $(LDFLAGS) $(WRAP_ALLOC) -o $@ $^ $(LDLIBS)

# The CLI with an allocator that fails the N-th allocation on request
# (tests/fault/faults.c: the allocation-failure sweep of tests/test_faults.c)
# and stops with SIGKILL at named points (the kill -9 tests, tests/test_kill.c).
$(BUILD)/entropic-faults: $(CLI_OBJ) $(BUILD)/tests/fault/faults.o $(BUILD)/libentropic.a
	$(CC) $(LDFLAGS) $(WRAP_ALLOC) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# ---- The installable library (docs/library.md).
# The shared library's objects are compiled a second time, position-
# independent, in their own tree ($(BUILD)/pic/), so libentropic.a, the
# binary and the benchmarks keep their non-PIC code. -fvisibility=hidden:
# entropic.h's declarations stay exported (its visibility pragma), the
# internal functions of src/ do not.
VERSION      := $(shell sed -n 's/.*define ENT_VERSION "\(.*\)".*/\1/p' include/entropic.h)
SONAME       := libentropic.so.$(firstword $(subst ., ,$(VERSION)))
SHLIB        := libentropic.so.$(VERSION)
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PIC_OBJ      := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
-include $(PIC_OBJ:.o=.d)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@
$(BUILD)/pic/src/dist/%.o: CFLAGS += $(MPI_CFLAGS)
$(filter $(BUILD)/pic/src/dist/%,$(PIC_OBJ)): $(BUILD)/mpi_flags

# Linked against everything it uses (--no-undefined checks that), so a
# program linking only -lentropic loads OpenBLAS, cairo, MPI... through it.
$(BUILD)/$(SHLIB): $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $(LDFLAGS) -o $@ $^ $(LDLIBS)
	ln -sf $(SHLIB) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libentropic.so

# Libs.private is what this Makefile links with ($(LDFLAGS) $(LDLIBS): OpenMP,
# OpenBLAS and its rpath, LAPACK, zlib, cairo, MPI, whatever is added
# there), so `pkg-config --static` cannot fall behind the build. The
# stamp rebuilds entropic.pc when any of its values changes.
PC_VARS := $(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(VERSION)|$(strip $(LDFLAGS) $(LDLIBS))
$(BUILD)/pc_vars: FORCE
	@mkdir -p $(BUILD)
	@echo '$(PC_VARS)' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/entropic.pc: entropic.pc.in $(BUILD)/pc_vars
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(strip $(LDFLAGS) $(LDLIBS))|' $< > $@

lib: $(BUILD)/libentropic.a $(BUILD)/$(SHLIB) $(BUILD)/entropic.pc

# ldconfig only for a real install as root (not staged under DESTDIR), so
# the loader finds libentropic.so.1 in /usr/local/lib at once.
install: lib $(BUILD)/entropic
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(BUILD)/entropic $(DESTDIR)$(BINDIR)/entropic
	install -m 644 include/entropic.h $(DESTDIR)$(INCLUDEDIR)/entropic.h
	install -m 644 $(BUILD)/libentropic.a $(DESTDIR)$(LIBDIR)/libentropic.a
	install -m 755 $(BUILD)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SHLIB)
	ln -sf $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libentropic.so
	install -m 644 $(BUILD)/entropic.pc $(DESTDIR)$(PKGCONFIGDIR)/entropic.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/entropic $(DESTDIR)$(INCLUDEDIR)/entropic.h $(DESTDIR)$(PKGCONFIGDIR)/entropic.pc \
	      $(DESTDIR)$(LIBDIR)/libentropic.a $(DESTDIR)$(LIBDIR)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libentropic.so

# A staged install, examples/ built against it with pkg-config (static and
# shared) and run: tests/check_install.sh.
check-install:
	MAKE="$(MAKE)" BUILD="$(BUILD)" CC="$(CC)" ENT_LINK_FLAGS="$(strip $(LDFLAGS) $(LDLIBS))" bash tests/check_install.sh

# GEMM throughput vs the measured FMA peak (bench/gemm_bench.c; its functions
# are also linked into the CLI for `entropic bench`).
bench-gemm: $(BUILD)/gemm_bench
$(BUILD)/gemm_bench: bench/gemm_bench.c $(BUILD)/src/cli/args.o $(BUILD)/libentropic.a
	$(CC) $(CFLAGS) -DENT_GEMM_BENCH_MAIN $(LDFLAGS) -o $@ $^ $(LDLIBS)

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all

setup:
	bash scripts/setup.sh

check-release: all
	OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 $(BUILD)/run_tests

check-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ENT_TEST_SANITIZER=1 OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 build-asan/run_tests

test:
	$(MAKE) check-release
	$(MAKE) check-asan
	$(MAKE) check-fuzz
	$(MAKE) check-install

demo:
	bash scripts/demo.sh

# bench/hvp.sh: Hessian-vector products and Lanczos beside PyTorch
bench-hvp: $(BUILD)/bench_hvp
$(BUILD)/bench_hvp: bench/hvp.c $(BUILD)/libentropic.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench/eig.c: LAPACK's symmetric eigensolvers (eigenvalues only) at size n
bench-eig: $(BUILD)/bench_eig
$(BUILD)/bench_eig: bench/eig.c $(BUILD)/libentropic.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench/layers.c: a training step's time, layer by layer
bench-layers: $(BUILD)/bench_layers
$(BUILD)/bench_layers: bench/layers.c $(BUILD)/libentropic.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench/esgd_overhead.c: an Entropy-SGD step against its L forward/backward passes
bench-esgd-overhead: $(BUILD)/bench_esgd_overhead
$(BUILD)/bench_esgd_overhead: bench/esgd_overhead.c $(BUILD)/libentropic.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

clean:
	rm -rf build build-asan build-fuzz

# ---- Fuzzing: libFuzzer targets for every parser (tests/fuzz/fuzz_*.c),
# built with Debian's clang, ASan and UBSan (docs/develop.md, "Reliability").
# The parsers' own files are compiled here with the fuzzer's coverage and
# the sanitizers; what they only link to (the layers' compute kernels that
# the network parser's kind table points at, never run) comes from the
# release build, so the fuzz build stays under twenty files.
#   make fuzz FUZZ_SECONDS=N   each target N seconds from its corpus: execs, findings
#   make check-fuzz            every corpus input once, then 3000 mutations each (in make test)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_TARGETS := safetensors json idx idx_gzip cifar npy net text words vocab
FUZZ_INST    := src/io/safetensors.c src/io/json.c src/io/file.c src/core/status.c src/core/mem.c \
                src/data/idx.c src/data/cifar.c src/data/npy.c src/data/npy_header.c \
                src/models/net.c src/models/net_json.c src/layers/layer.c \
                src/data/text.c src/data/words.c src/data/utf8.c src/data/strmap.c src/data/vocab.c \
                src/data/vocab_text.c
FUZZ_INST_OBJ := $(FUZZ_INST:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
.PHONY: fuzz fuzz-build check-fuzz

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -g -fopenmp -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/tests/fuzz/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -g -D_GNU_SOURCE -Iinclude -Isrc $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_BUILD)/librest.a: $(filter-out $(FUZZ_INST:%.c=$(BUILD)/%.o),$(LIB_OBJ))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_INST_OBJ) $(FUZZ_BUILD)/librest.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -fopenmp -Wl,--as-needed -o $@ $^ $(LDLIBS)
-include $(FUZZ_INST_OBJ:.o=.d)
# kept: as prerequisites of a pattern rule they count as intermediate, and
# make would delete them after each link (and rebuild them all next time)
.SECONDARY: $(FUZZ_INST_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.o)

fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) bash bench/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
check-fuzz:
	@if command -v $(FUZZ_CC) >/dev/null && echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' | \
	    $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then \
	  $(MAKE) fuzz-build && FUZZ_BUILD=$(FUZZ_BUILD) bash tests/fuzz/regress.sh $(FUZZ_TARGETS); \
	else echo "check-fuzz: skipped: $(FUZZ_CC) with libFuzzer not found (scripts/setup.sh installs clang)"; fi
