// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * blk_bad: a virtio driver for the e2e guest that binds to the virtio-blk
 * device instead of virtio_blk and sends it malformed requests the Linux
 * driver never would: a sector beyond the disk, a header shorter than 16
 * bytes, the status byte in a device-readable buffer, an unknown type, and
 * after each a correct request, which must still be served. Each result
 * goes to the kernel log as "E2E-bad NAME status=S len=L"; the guest's init
 * prints them and tests/e2e/run_blk.sh checks them. Written for this test
 * only; it is loaded, run at probe time, and removed.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#define NO_STATUS 0xee

struct bad_bufs {
	struct virtio_blk_outhdr hdr;
	u8 data[512];
	u8 status;
};

/* Sends out (readable) and in (writable) buffers, waits for the used entry. */
static int exchange(struct virtqueue *vq, struct bad_bufs *b, struct scatterlist **sgs,
		    unsigned int out, unsigned int in, unsigned int *len)
{
	int i, r = virtqueue_add_sgs(vq, sgs, out, in, b, GFP_KERNEL);

	if (r)
		return r;
	virtqueue_kick(vq);
	for (i = 0; i < 10000; i++) {
		if (virtqueue_get_buf(vq, len))
			return 0;
		usleep_range(500, 1000);
	}
	return -ETIMEDOUT;
}

static void report(const char *name, int r, struct bad_bufs *b, unsigned int len)
{
	if (r)
		pr_warn("E2E-bad %s error=%d\n", name, r);
	else
		pr_warn("E2E-bad %s status=%u len=%u\n", name, b->status, len);
}

/* type/sector header of hdr_len bytes, data (512, readable or writable),
 * status (writable, or readable). */
static void one(struct virtqueue *vq, struct bad_bufs *b, const char *name, u32 type,
		u64 sector, unsigned int hdr_len, bool data_in, bool status_readable)
{
	struct scatterlist hdr, data, status, *sgs[3];
	unsigned int out = 0, in = 0, len = 0;
	int r;

	b->hdr.type = cpu_to_virtio32(vq->vdev, type);
	b->hdr.ioprio = 0;
	b->hdr.sector = cpu_to_virtio64(vq->vdev, sector);
	b->status = NO_STATUS;
	sg_init_one(&hdr, &b->hdr, hdr_len);
	sg_init_one(&data, b->data, sizeof(b->data));
	sg_init_one(&status, &b->status, 1);
	sgs[out++] = &hdr;
	if (!data_in)
		sgs[out++] = &data;
	if (status_readable) {
		sgs[out++] = &status;
	} else {
		if (data_in)
			sgs[out + in++] = &data;
		sgs[out + in++] = &status;
	}
	r = exchange(vq, b, sgs, out, in, &len);
	report(name, r, b, len);
}

static int bad_probe(struct virtio_device *vdev)
{
	struct virtqueue *vq = virtio_find_single_vq(vdev, NULL, "bad");
	struct bad_bufs *b;
	u64 capacity;

	if (IS_ERR(vq))
		return PTR_ERR(vq);
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	virtio_cread(vdev, struct virtio_blk_config, capacity, &capacity);
	virtio_device_ready(vdev);
	one(vq, b, "good-first", VIRTIO_BLK_T_IN, 0, 16, true, false);
	one(vq, b, "out-of-range", VIRTIO_BLK_T_IN, capacity, 16, true, false);
	one(vq, b, "after-out-of-range", VIRTIO_BLK_T_IN, capacity - 1, 16, true, false);
	one(vq, b, "short-header", VIRTIO_BLK_T_IN, 0, 8, true, false);
	one(vq, b, "after-short-header", VIRTIO_BLK_T_IN, 0, 16, true, false);
	one(vq, b, "status-readable", VIRTIO_BLK_T_OUT, 0, 16, false, true);
	one(vq, b, "after-status-readable", VIRTIO_BLK_T_IN, 0, 16, true, false);
	one(vq, b, "unknown-type", 0x77, 0, 16, true, false);
	one(vq, b, "after-unknown-type", VIRTIO_BLK_T_IN, 0, 16, true, false);
	pr_warn("E2E-bad done\n");
	vdev->priv = b;
	return 0;
}

static void bad_remove(struct virtio_device *vdev)
{
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
	kfree(vdev->priv);
}

static const struct virtio_device_id id_table[] = {
	{ VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static unsigned int features[] = { VIRTIO_BLK_F_SEG_MAX };

static struct virtio_driver bad_driver = {
	.driver.name = "blk_bad",
	.driver.owner = THIS_MODULE,
	.id_table = id_table,
	.feature_table = features,
	.feature_table_size = ARRAY_SIZE(features),
	.probe = bad_probe,
	.remove = bad_remove,
};

module_virtio_driver(bad_driver);
MODULE_DEVICE_TABLE(virtio, id_table);
MODULE_DESCRIPTION("virtq e2e: malformed virtio-blk requests");
MODULE_LICENSE("Dual MIT/GPL"); /* GPL-compatible: the virtio API is GPL-only */
