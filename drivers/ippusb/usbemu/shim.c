//go:build umockdev

// Glue between umockdev's GObject API and Go: the ioctl signal handler and
// the calls that take a GError**.
#include <umockdev.h>
#include "_cgo_export.h"

static gboolean handle_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer data)
{
	return usbemuIoctl(client);
}

UMockdevIoctlBase *usbemu_handler(void)
{
	UMockdevIoctlBase *base = umockdev_ioctl_base_new();
	g_signal_connect(base, "handle-ioctl", G_CALLBACK(handle_ioctl), NULL);
	return base;
}

static char *take_error(GError *err, const char *fallback)
{
	char *msg = g_strdup(err ? err->message : fallback);
	if (err)
		g_error_free(err);
	return msg;
}

UMockdevTestbed *usbemu_testbed(const char *description, char **errmsg)
{
	GError *err = NULL;
	UMockdevTestbed *tb = umockdev_testbed_new();
	if (!umockdev_testbed_add_from_string(tb, description, &err)) {
		*errmsg = take_error(err, "cannot add the device");
		g_object_unref(tb);
		return NULL;
	}
	return tb;
}

int usbemu_attach(UMockdevTestbed *tb, const char *devnode, UMockdevIoctlBase *h, char **errmsg)
{
	GError *err = NULL;
	if (!umockdev_testbed_attach_ioctl(tb, devnode, h, &err)) {
		*errmsg = take_error(err, "cannot attach the ioctl handler");
		return 0;
	}
	return 1;
}

UMockdevIoctlData *usbemu_resolve(UMockdevIoctlData *d, gsize offset, gsize len)
{
	GError *err = NULL;
	UMockdevIoctlData *r = umockdev_ioctl_data_resolve(d, offset, len, &err);
	if (err)
		g_error_free(err);
	return r;
}

void usbemu_unref(gpointer p)
{
	if (p)
		g_object_unref(p);
}
