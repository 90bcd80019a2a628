// SPDX-License-Identifier: Apache-2.0
/*
 * Test helper: binds one copy-mode AF_XDP socket to IFNAME queue QUEUE, registers
 * it in the pinned stoq_xsks map, prints "ready", then prints "rx <len> <meta>" for
 * every frame it receives (meta: the 8 bytes in front of the frame, where XDP
 * metadata lands, as an unsigned integer) until it has COUNT frames or SECONDS pass. Stands in for
 * @stoq/af-xdp, which was not usable from this package yet.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <xdp/xsk.h>

#define NUM_FRAMES 1024
#define FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp, rx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* stoq_xdp is already attached */
		.bind_flags = XDP_COPY,
	};
	__u32 idx, queue;
	int map_fd, fd, err, received = 0, count;
	double deadline;
	void *buf;

	if (argc != 6) {
		fprintf(stderr, "usage: %s IFNAME QUEUE PINNED_XSKMAP COUNT SECONDS\n", argv[0]);
		return 2;
	}
	queue = atoi(argv[2]);
	count = atoi(argv[4]);
	deadline = now_s() + atof(argv[5]);

	buf = mmap(NULL, NUM_FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap", errno);
	/*
	 * A socket closed just before may still hold the queue for a moment: EBUSY,
	 * retry briefly. A failed bind leaves the UMEM's fill ring handed over to the
	 * dead socket, so every try starts from a fresh UMEM registration.
	 */
	for (int tries = 0; tries < 40; tries++) {
		err = xsk_umem__create(&umem, buf, NUM_FRAMES * FRAME_SIZE, &fill, &comp, NULL);
		if (err)
			return fail("xsk_umem__create", err);
		err = xsk_socket__create(&xsk, argv[1], queue, umem, &rx, NULL, &cfg);
		if (err != -EBUSY)
			break;
		xsk_umem__delete(umem);
		usleep(50 * 1000);
	}
	if (err)
		return fail("xsk_socket__create", err);

	/* Give the kernel every frame of the UMEM (no more: addresses past it are invalid). */
	if (xsk_ring_prod__reserve(&fill, NUM_FRAMES, &idx) != NUM_FRAMES)
		return fail("fill ring reserve", ENOSPC);
	for (__u32 i = 0; i < NUM_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&fill, idx + i) = (__u64)i * FRAME_SIZE;
	xsk_ring_prod__submit(&fill, NUM_FRAMES);

	map_fd = bpf_obj_get(argv[3]);
	if (map_fd < 0)
		return fail("bpf_obj_get", errno);
	fd = xsk_socket__fd(xsk);
	if (bpf_map_update_elem(map_fd, &queue, &fd, BPF_ANY))
		return fail("bpf_map_update_elem(stoq_xsks)", errno);
	printf("ready\n");
	fflush(stdout);

	while (received < count && now_s() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		__u32 n, rx_idx, fill_idx;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = xsk_ring_cons__peek(&rx, 64, &rx_idx);
		if (!n)
			continue;
		while (xsk_ring_prod__reserve(&fill, n, &fill_idx) != n)
			;
		for (__u32 i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, rx_idx + i);

			__u64 meta;

			memcpy(&meta, (char *)xsk_umem__get_data(buf, d->addr) - sizeof(meta), sizeof(meta));
			printf("rx %u %llu\n", d->len, (unsigned long long)meta);
			*xsk_ring_prod__fill_addr(&fill, fill_idx + i) = xsk_umem__extract_addr(d->addr);
		}
		xsk_ring_prod__submit(&fill, n);
		xsk_ring_cons__release(&rx, n);
		received += n;
	}
	fflush(stdout);
	bpf_map_delete_elem(map_fd, &queue);
	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	return 0;
}
