# Autografo. `make run` starts the agent with the simulated scanner;
# `make test` runs every test, the ones that start real peers included.
# Both install the Debian packages they need when they are missing.

GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
PORT ?= 8733

# gousb needs libusb through cgo; the race detector needs gcc.
RUN_PKGS  := gcc pkg-config libusb-1.0-0-dev libturbojpeg0-dev poppler-utils
# The browser tests drive a real headless Chromium (it needs a font); the
# SANE tests run a real saned with SANE's test backend; the PDF tests check
# every document with qpdf, poppler and Apache PDFBox (Java); the officer's
# attestation is signed on a real PKCS#11 token (SoftHSM 2); the USB tests run
# gousb and libusb against a device emulated by umockdev (build tag umockdev).
# OpenSC's PKCS#11 spy counts the logins a test's agent makes on SoftHSM;
# mupdf-tools renders every kind of document a second way; rpm installs the
# .rpm into a root of its own.
# The service units are read by systemd's own systemd-analyze, the manual
# page by groff, the output intent by Little CMS.
# The signature pipeline's second test set draws its forms' print and some of
# its signatures with fonts: printed faces and eight handwriting faces.
FORM_FONTS := fonts-liberation2 fonts-dancingscript fonts-dkg-handwriting fonts-kristi fonts-kaushanscript \
	fonts-breip fonts-femkeklaver fonts-humor-sans fonts-ecolier-court
TEST_PKGS := $(RUN_PKGS) chromium fonts-dejavu-core sane-utils libsane1 \
	file qpdf poppler-utils libtiff-tools openjdk-17-jre-headless libpdfbox2-java libactivation-java libjaxb-api-java \
	softhsm2 opensc-pkcs11 mupdf-tools rpm umockdev libumockdev-dev curl ca-certificates systemd groff-base liblcms2-utils $(FORM_FONTS)
# The page's accessibility is checked with axe-core (npm), fetched once.
AXE_DIR := $(CURDIR)/.cache/axe-core
export AUTOGRAFO_AXE := $(AXE_DIR)/axe.min.js

.PHONY: run test soak deps-run deps-test deps-windows deps-wine build package windows msi test-windows demo-clean vet screenshot security-report bench bench-security bench-saned bench-usb clean

# The demo keeps its acts in the checkout, apart from a real store in the
# user's data folder; demo-clean starts it afresh.
DEMO_STORE ?= $(CURDIR)/.cache/demo-store
# The demo's scanner: the simulator, which scans the sheets the page
# printed, signed, except the second witness's box the first time, so that
# a newcomer sees what Autografo is for (the newcomer walk-through in
# cmd/autografo runs the page with these same flags).
DEMO_FLAGS ?= --sim --sim-unsigned testimone2
run: deps-run
	$(GO) run ./cmd/autografo serve $(DEMO_FLAGS) --port $(PORT) --store $(DEMO_STORE)

demo-clean:
	rm -rf $(DEMO_STORE)

test: deps-test
	@.ci/axe $(AXE_DIR)
	$(GO) vet -tags umockdev ./...
	# Everything under the race detector; the image tests leave out their
	# 600 dpi pages there (-short) and run in full without it after.
	$(GO) test -tags umockdev -race -short -count=1 -timeout 20m ./...
	$(GO) test -count=1 -timeout 20m ./scanner/pipeline ./scanner/sheet
	# The decoders of what scanners send, fuzzed beyond their committed
	# corpus for about ten seconds each: counted in runs, not seconds, since
	# Go 1.26's fuzzing can fail a run that ends on its deadline (go.dev/issue/75804).
	$(GO) test -run XXX -fuzz FuzzProcess -fuzztime 150000x ./scanner/pipeline
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 50000x ./scanner/jpegturbo
	# And the reader of a preview's page content, which comes from the browser.
	$(GO) test -run XXX -fuzz FuzzPageContent -fuzztime 50000x ./scanner/sheet
	# The same packages built for Windows and run under Wine.
	$(MAKE) test-windows

# The crash test at full size: 200 captures, 50 kills with SIGKILL.
soak: deps-test
	AUTOGRAFO_CRASH_CAPTURES=200 AUTOGRAFO_CRASH_KILLS=50 $(GO) test -count=1 -timeout 30m -run TestCrashKeepsEveryAnnouncedPage -v ./cmd/autografo

build:
	$(GO) build -o bin/autografo ./cmd/autografo

# The .deb and .rpm under dist/: the binary, the udev rules, the systemd
# units and the kiosk's user (docs/packaging/nfpm.yaml). nfpm is run at a
# fixed version from the Go module proxy; a package version must start
# with a digit, so a checkout without a release tag is 0.1.0~git<commit>.
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' || true)
PKG_VERSION := $(or $(VERSION),0.1.0~git$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown))
package: deps-run
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(PKG_VERSION)" -o bin/autografo ./cmd/autografo
	bin/autografo man | gzip -9n > bin/autografo.1.gz
	mkdir -p dist
	for p in deb rpm; do \
		AUTOGRAFO_VERSION='$(PKG_VERSION)' GOARCH=$$($(GO) env GOARCH) $(GO) run $(NFPM) package \
			--config docs/packaging/nfpm.yaml --packager $$p --target dist/ || exit 1; \
	done

# Windows: one .exe that needs no DLL but Windows' own, cross-built with
# mingw; libusb and libjpeg-turbo built once, static, from Debian's source
# packages (.ci/windows-libs, kept in .cache/windows). autografo.exe has a
# console; autografo-logon.exe has none, for the start at logon (its logs go
# to a file, and `autografo stop` ends it).
WIN_PKGS := gcc-mingw-w64-x86-64 cmake nasm dpkg-dev pkg-config
WINE_PKGS := $(WIN_PKGS) wine wine64 wixl msitools
WIN_DIR := $(CURDIR)/.cache/windows
WIN_ENV = GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc \
	PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=$(WIN_DIR)/prefix/lib/pkgconfig \
	CGO_CFLAGS=-I$(WIN_DIR)/prefix/include CGO_LDFLAGS=-L$(WIN_DIR)/prefix/lib
WIN_LDFLAGS = -s -w -X main.version=$(PKG_VERSION) -extldflags=-static
windows: deps-windows
	.ci/windows-libs $(WIN_DIR)
	mkdir -p dist/windows
	$(WIN_ENV) $(GO) build -trimpath -ldflags "$(WIN_LDFLAGS)" -o dist/windows/autografo.exe ./cmd/autografo
	$(WIN_ENV) $(GO) build -trimpath -ldflags "$(WIN_LDFLAGS) -H windowsgui -X main.windowless=true" -o dist/windows/autografo-logon.exe ./cmd/autografo

# The installer, per machine: both exes under Program Files\Autografo and
# the windowless one started at every user's logon (docs/packaging/autografo.wxs).
# An MSI's version is numbers only: a checkout without a release tag is 0.1.0.
MSI_VERSION := $(or $(shell echo '$(VERSION)' | grep -oE '^[0-9]+(\.[0-9]+){0,2}'),0.1.0)
msi: windows deps-wine
	wixl -a x64 -D Version=$(MSI_VERSION) -D Dist=dist/windows -o dist/windows/autografo.msi docs/packaging/autografo.wxs

# Every package's tests built for Windows and run under Wine, but those
# that start Linux peers (saned, umockdev, Chromium, the agent's own
# end-to-end runs in cmd/autografo, which test-windows runs on its own).
WINE_TEST_PKGS := ./agent/... ./scanner/... ./drivers/... ./webui/...
# Left to the Linux run of the same tests, named here so that none is
# skipped by accident: those that check what we make with Linux programs
# (pdfsig, qpdf, pdfinfo, PDFBox, mutool, libtiff's tools, SoftHSM), that
# become another Unix user (setpriv), that join mDNS's multicast group
# (Wine cannot), those of the printed page's subtraction, which still runs
# poppler's pdftoppm, absent on a Windows workstation (docs/PLATFORMS.md),
# and those that hold the Go text reader to poppler's pdftotext.
WINE_LINUX_ONLY := TestAttestationPageText|TestAttestationPreflight|TestAttestationOverflows|TestAttestationSaysWhichSignature|TestAttestationPrintsEveryName|TestAttestationGender|TestMultiPageTIFF|TestJPGAndTIFFAreUpright|TestTIFFWithinTheBudget|TestQpdfAndPdfinfoAcceptTheDocument|TestJPEGPassThrough|TestPDFBoxPreflightAndRender|TestQuarterTurnsKeepThePassThrough|TestOutputIntentIsSRGB|TestMutoolComplainsOfBrokenFiles|TestAttestationSignedOnPKCS11Token|TestTokenErrors|TestWorkstationSealIsValidAndShowsTampering|TestSealCarriesATimestamp|TestAttackAnotherUsersSocketsDoNotStarveTheOwner|TestMDNSDiscovery|TestPrintedPageIsSubtracted|TestOtherPrintTakesNothingAway|TestRenderAndInvert|TestLocateBoxesOnDistortedScans|TestStamp|TestMarksWithoutCode|TestLayoutFromText|TestTextReaderAgreesWithPdftotext|TestTextReaderAgreesOnHeldOutPDFs|TestTextReaderOnAThirdSet
test-windows: deps-wine deps-test
	.ci/windows-libs $(WIN_DIR)
	$(WIN_ENV) $(GO) vet $(WINE_TEST_PKGS)
	$(WIN_ENV) $(GO) build -o /dev/null ./cmd/autografo
	$(WIN_ENV) $(GO) test -count=1 -timeout 30m -overlay $$(GO=$(GO) .ci/wine/overlay $(WIN_DIR)/overlay) \
		-ldflags=-extldflags=-static -exec $(CURDIR)/.ci/wine/exec -skip '^($(WINE_LINUX_ONLY))$$' $(WINE_TEST_PKGS)
	# The MSI installed, started as at logon, stopped and removed under Wine.
	$(MAKE) msi
	.ci/wine/msi-test
	# The Windows agent under Wine, driven from the page in Chromium on Linux.
	AUTOGRAFO_AGENT_BINARY=$(CURDIR)/.ci/wine/agent $(GO) test -tags wine -count=1 -run TestWindowsAgentUnderWine ./cmd/autografo

deps-run:
	@.ci/deps $(RUN_PKGS)

deps-windows:
	@.ci/deps $(WIN_PKGS)

deps-wine:
	@.ci/deps $(WINE_PKGS)

deps-test:
	@.ci/deps $(TEST_PKGS)

# Refreshes the README's pictures of the page, each step of a wedding at a
# counter's 1366x768 (docs/screens), from real captures in headless Chromium.
screenshot: deps-test
	@.ci/axe $(AXE_DIR)
	mkdir -p $(CURDIR)/docs/screens
	AUTOGRAFO_SCREENS=$(CURDIR)/docs/screens AUTOGRAFO_SCREENSHOT=$(CURDIR)/docs/screenshot-capture.png AUTOGRAFO_SCREENSHOT_SIGNATURES=$(CURDIR)/docs/screenshot-signatures.png \
		$(GO) test -count=1 -run 'TestBrowserFeederCaptureShowsEveryPage|TestBrowserShowsEachSignersVerdict|TestOfficerPage' ./cmd/autografo

# Regenerates docs/SECURITY.md from a run of the attack tests.
security-report: deps-test
	GO=$(GO) .ci/security-report

# The tab's round trips while 50 clients flood the websocket.
bench-security: deps-test
	$(GO) test -run XXX -bench ConnectionFlood -benchtime 10x ./agent/server

# Our SANE client against scanimage on the same saned (needs port 6566 free).
bench-saned: deps-test
	GO=$(GO) .ci/bench-saned

# The signature pipeline: its accuracy on the simulator's set (report in
# bench-accuracy.md) and on the whole reporting half of the second set, drawn
# apart from the simulator (report in bench-formset.md), its speed, the
# blank-page decision on the reported half of its set (bench-blank.md), and
# ImageMagick and unpaper on the same pages. Then the officer's page in
# headless Chromium: the last page to «Pronto per ANSC», the main thread
# during a 10-page capture, and a newcomer's wedding.
bench: deps-test
	$(GO) test -run XXX -bench Accuracy -benchtime 1x -timeout 30m ./scanner/pipeline -accuracy-report $(CURDIR)/bench-accuracy.md
	$(GO) test -run XXX -bench FormSet -benchtime 1x -timeout 60m ./scanner/pipeline -formset-report $(CURDIR)/bench-formset.md
	$(GO) test -run XXX -bench Process -benchtime 20x ./scanner/pipeline
	$(GO) test -run XXX -bench BlankBacks -benchtime 1x -timeout 30m ./scanner/pipeline -blank-report $(CURDIR)/bench-blank.md
	GO=$(GO) .ci/bench-pipeline
	$(GO) test -run XXX -bench 'OfficerPage|NewcomerWedding' -benchtime 9x -timeout 30m ./cmd/autografo

# The IPP-over-USB transport against raw bulk reads, and idle discovery's
# CPU, on a device emulated under umockdev.
bench-usb: deps-test
	GO=$(GO) .ci/bench-usb

clean:
	rm -rf bin dist
