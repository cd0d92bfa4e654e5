# The front door. `make demo` and `make test` are all a newcomer needs.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)
# `make fuzz`: seconds per fuzz target, and ledger-model sequences.
FUZZ_SECONDS ?= 300
MODEL_SEQUENCES ?= 50000

.PHONY: all build demo test unit e2e bench sanitize fuzz format format-check clean bootstrap

all: build

bootstrap:
	@scripts/bootstrap build

$(BUILD)/build.ninja:
	@scripts/bootstrap build
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/kizuna demo

test: build
	@scripts/bootstrap test
	@scripts/check-format
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600
	@fuzz/run --seconds 5

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

e2e: build
	@scripts/bootstrap test
	cd $(BUILD) && ctest --output-on-failure -L e2e

bench: build
	@scripts/bootstrap bench
	bench/run

# ASan+UBSan and TSan builds of the threaded and input-parsing suites (scripts/sanitize).
sanitize:
	@scripts/sanitize

# Longer: each fuzz target for FUZZ_SECONDS (build-fuzz/, clang, ASan+UBSan), then the ledger
# model test over MODEL_SEQUENCES random sequences.
fuzz: build
	@scripts/bootstrap test
	@fuzz/run --seconds $(FUZZ_SECONDS)
	cd $(BUILD) && KIZUNA_MODEL_SEQUENCES=$(MODEL_SEQUENCES) tests/model/ledger_model_test

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	@scripts/check-format

clean:
	rm -rf $(BUILD) build-fuzz
