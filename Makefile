# The two README commands. Everything else is CMake and ctest.
BUILD ?= build
# Building and running; the tests add the DNS tools, etcd and the resolvers the end-to-end tests drive.
DEPS := cmake g++ make pkg-config libldns-dev libevent-dev libyaml-cpp-dev libyaml-dev libspdlog-dev catch2 libssl-dev \
        bind9-dnsutils ldnsutils knot-dnsutils
PACKAGE_DEPS := debhelper dpkg-dev fakeroot lintian
TEST_DEPS := $(DEPS) $(PACKAGE_DEPS) dnsperf iproute2 procps util-linux mount \
        etcd-server etcd-client unbound dnsmasq-base python3 knot nsd bind9 curl prometheus chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps test-deps package-deps bench-deps build run test test-sanitize fuzz bench clean deb

deps test-deps package-deps:
	@missing=$$(for p in $(if $(filter test-deps,$@),$(TEST_DEPS),$(if $(filter package-deps,$@),$(DEPS) $(PACKAGE_DEPS),$(DEPS))); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# CI (CI=true) builds with -Werror: a default build has no warnings, and keeps none.
WERROR := $(if $(filter true,$(CI)),-DDNSD_WERROR=ON,)

CONFIGURE = cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(WERROR) $(CMAKE_FLAGS)

build: deps
	$(CONFIGURE)
	cmake --build $(BUILD) -j2

# The daemon alone: no test, fuzz or bench target is built for a first run.
run: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j2 --target dnsd
	$(BUILD)/dnsd run -c conf/dnsd.yaml

# The suite on two builds: the release build of dnsd and the C++ integration tests runs the
# integration, e2e and package tiers; an ASan+UBSan build of dnsd and every test then runs the unit and
# integration tiers. (The release build of the unit, fuzz-replay and bench programs was 40% of its
# compile for 2 s of tests.)
test: test-deps
	$(CONFIGURE)
	cmake --build $(BUILD) -j2 --target dnsd test_integration
	cd $(BUILD) && ctest --output-on-failure -j2 --timeout 300 -L 'integration|e2e|package'
	$(MAKE) test-sanitize

test-sanitize: test-deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DDNSD_SANITIZE=ON $(WERROR)
	cmake --build $(BUILD)-asan -j2
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j2 --timeout 300 -LE 'e2e|package'

# libFuzzer (clang, ASan) on every fuzz target for FUZZ_SECONDS each. New inputs go to
# $(BUILD)-fuzz/corpus/TARGET (copy the interesting ones into tests/fuzz/corpus/TARGET), crashes to
# $(BUILD)-fuzz/artifacts/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := query zone_yaml records registry update control_api http transfer_in verify_reply patch
fuzz: test-deps
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSD_FUZZ=ON
	cmake --build $(BUILD)-fuzz -j2 $(addprefix --target fuzz_,$(FUZZ_TARGETS))
	mkdir -p $(BUILD)-fuzz/artifacts
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)-fuzz/corpus/$$t && \
	  $(BUILD)-fuzz/tests/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)-fuzz/artifacts/$$t- \
	    $(BUILD)-fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# The comparison benchmark (tests/bench/compare.sh): dnsd, Knot DNS, NSD and a raw reflector, one
# worker each on CPU 0, dnsperf on CPU 1. BENCH_SECONDS per measurement, BENCH_ROUNDS rounds.
BENCH_SECONDS ?= 5
BENCH_ROUNDS ?= 5
bench-deps: test-deps
	@missing=$$(for p in knot nsd; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

bench: bench-deps build
	cmake --build $(BUILD) -j2 --target bench_reflector bench_http_responder
	tests/bench/compare.sh $(BUILD) $(BENCH_SECONDS) $(BENCH_ROUNDS)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz obj-*-linux-gnu* debian/.debhelper debian/dnsd debian/dnsd.service debian/files debian/debhelper-build-stamp debian/*.substvars debian/*.debhelper.log

# The Debian package (debian/) into $(BUILD)/deb/: lintian it with `lintian $(BUILD)/deb/dnsd_*.deb`.
deb: package-deps
	tests/package/build_deb.sh $(BUILD)/deb
