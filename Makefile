# vigilcam: `make run` starts the camera on the test pattern; `make test` runs the whole suite.
# Both set up what they need: pip packages into .venv, Debian packages with apt-get when root.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Real peers the test suite talks to (ffmpeg/ffprobe as RTSPS client, GStreamer RTSP server and
# rtspsrc, Mosquitto broker, Chromium for the web UI, swtpm for the TPM key store).
DEB_TEST := ffmpeg mosquitto chromium gstreamer1.0-tools gstreamer1.0-plugins-base \
            gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
            gir1.2-gst-rtsp-server-1.0 python3-gi swtpm swtpm-tools tpm2-tools systemd tshark \
            iproute2 util-linux dpkg-dev
ARGS ?=
# `make release`: dist/ for this machine's architecture (docs/install.md). KEYS=/offline/dir
# signs with release keys; without it a test key set is generated under build/test-keys/.
# DEBIAN=13: the Debian 13 (trixie, CPython 3.13) package; default Debian 12 (CPython 3.11).
KEYS ?=
ARCH ?=
DEBIAN ?=
RELEASE_ARGS = $(if $(KEYS),--keys $(KEYS)) $(if $(ARCH),--arch $(ARCH)) \
    $(if $(DEBIAN),--debian $(DEBIAN)) \
    $(if $(ADVISORIES),--advisories $(ADVISORIES))

.PHONY: run test lint deps debs clean release lock wheels-arm64 lintian

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

deps: $(STAMP)

debs:
	@missing=""; for p in $(DEB_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: please install these Debian packages:$$missing"; fi; \
	fi

run: $(STAMP)
	$(VENV)/bin/vigilcam run $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks packaging
	$(VENV)/bin/mypy
	PYTHONPATH=src $(VENV)/bin/lint-imports

# The whole suite runs as two pytest processes side by side on the machine's cores: these
# directories (the host-wide package install, the audit, the detector on clips: no server of
# the others' and nothing they wait on) in the background, the rest in the foreground.
SIDE_TESTS := tests/packaging tests/compliance tests/analytics
SIDE_LOG   := $(VENV)/side-tests.log

test: debs $(STAMP) lint
	@$(VENV)/bin/pytest -q -p no:cacheprovider $(SIDE_TESTS) >$(SIDE_LOG) 2>&1 & side=$$!; \
	trap 'kill $$side 2>/dev/null' INT TERM; \
	$(VENV)/bin/pytest -q -p no:cacheprovider $(addprefix --ignore=,$(SIDE_TESTS)); rest=$$?; \
	wait $$side; side_rc=$$?; \
	echo "--- $(SIDE_TESTS), run alongside:"; cat $(SIDE_LOG); \
	echo "pytest exit codes: $$rest (the rest), $$side_rc ($(SIDE_TESTS))"; \
	[ $$rest -eq 0 ] && [ $$side_rc -eq 0 ]

release: $(STAMP)
	$(PY) packaging/release.py $(RELEASE_ARGS)

# Lintian on the built package (2-3 minutes on 2 cores: not part of `make test`).
lintian:
	@command -v lintian >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian >/dev/null; } || \
	  { echo "please install lintian"; exit 1; }
	lintian --no-tag-display-limit dist/vigilcam_*_$$(dpkg --print-architecture).deb

# Re-resolve the hash-pinned dependency locks (Debian 12 and 13, amd64 and arm64, binary wheels
# only, the same versions everywhere); DEBIAN=13 re-resolves only that release's locks.
lock: $(STAMP)
	$(PY) packaging/release.py --lock $(if $(DEBIAN),--debian $(DEBIAN))

# Download (hash-checked) the arm64 wheel set without building the package.
wheels-arm64: $(STAMP)
	$(PY) packaging/release.py --arch arm64 --wheels-only

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info
