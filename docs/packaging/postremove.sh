#!/bin/sh
# After removing: systemd and udev forget the files. The stores stay (each
# user's, and the kiosk's in /var/lib/autografo): they hold acts ANSC may
# not have confirmed yet.
set -e
if command -v udevadm >/dev/null 2>&1; then
	udevadm control --reload >/dev/null 2>&1 || true
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
