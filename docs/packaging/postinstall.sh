#!/bin/sh
# After installing: the kiosk service's user, and the USB rules applied to
# scanners already plugged in. Nothing is enabled: the office chooses the
# user unit or the kiosk's.
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers /usr/lib/sysusers.d/autografo.conf || true
fi
if command -v udevadm >/dev/null 2>&1; then
	udevadm control --reload >/dev/null 2>&1 || true
	udevadm trigger --subsystem-match=usb --action=change >/dev/null 2>&1 || true
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
