# entropic — build, test, demo.
#   make            release build: build/entropic, build/libentropic.a, build/run_tests
#   make test       build release + ASan/UBSan, run both suites
#   scripts/test.sh installs the Debian packages first, then runs make test (the README's command)
#   scripts/demo.sh installs, builds, trains Entropy-SGD vs Adam on Fashion-MNIST (the main job)
#   make asan       the sanitizer build alone (build-asan/)
CC      ?= gcc
comma   := ,
BUILD   ?= build
OPT     ?= -O3
SAN     ?=
CFLAGS  := -std=c11 $(OPT) -g -fno-math-errno -Wall -Wextra -Wno-unused-parameter -fopenmp \
           -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(SAN) $(EXTRA_CFLAGS)
OPENBLAS_DIR ?= $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/*/openblas-openmp))
LDLIBS  := $(if $(OPENBLAS_DIR),-L$(OPENBLAS_DIR) -Wl$(comma)-rpath$(comma)$(OPENBLAS_DIR)) -lopenblas -lz -lm
LDFLAGS := -fopenmp $(SAN)

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/%,$(LIB_SRC))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

.PHONY: all test asan demo setup clean check-release check-asan
all: $(BUILD)/entropic $(BUILD)/run_tests

$(BUILD)/libentropic.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/entropic: $(CLI_OBJ) $(BUILD)/libentropic.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test_list.h: $(TEST_SRC)
	@mkdir -p $(BUILD)
	@grep -ho '^ENT_TEST([a-z0-9_]*)' $(TEST_SRC) | sed 's/^ENT_TEST(\(.*\))/X(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/tests/runner.o: $(BUILD)/test_list.h
$(BUILD)/tests/%.o: CFLAGS += -I$(BUILD) -Itests -DENT_CLI_DEFAULT='"$(BUILD)/entropic"'

# The test binary counts the allocations of entropic's own code (test_alloc.c).
WRAP_ALLOC := $(foreach f,malloc calloc realloc posix_memalign aligned_alloc,-Wl,--wrap=$(f))
$(BUILD)/run_tests: $(TEST_OBJ) $(BUILD)/libentropic.a
	$(CC) $(LDFLAGS) $(WRAP_ALLOC) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all

setup:
	bash scripts/setup.sh

check-release: all
	OMP_NUM_THREADS=2 $(BUILD)/run_tests

check-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ENT_TEST_SANITIZER=1 OMP_NUM_THREADS=2 build-asan/run_tests

test:
	$(MAKE) check-release
	$(MAKE) check-asan

demo:
	bash scripts/demo.sh

clean:
	rm -rf build build-asan
