/* SPDX-License-Identifier: MIT */
/*
 * Activation: the mock's driver configures the queue (in-flight area, size,
 * ring addresses, features) and sets DRIVER_OK. The library's answer must
 * equal both the model's and the independent geometry predicate's.
 */
#include "accept.h"
#include "harness.h"

void harness_accept_memory(const struct virtq_mem *map, struct accept_memory *mem)
{
	mem->nregions = map->nregions < ACCEPT_MAX_REGIONS ? map->nregions : ACCEPT_MAX_REGIONS;
	for (uint32_t i = 0; i < mem->nregions; i++)
		mem->regions[i] = (struct accept_region){ map->regions[i].gpa, map->regions[i].size,
							  map->regions[i].host,
							  map->regions[i].flags };
	mem->iommu = false;
	mem->nmaps = 0;
}

/* With the harness's IOMMU: its mapping table, as the translator sees it. */
static void accept_iommu(const struct harness *h, struct accept_memory *mem)
{
	mem->iommu = h->iommu_on;
	mem->nmaps = h->iommu.nmaps < ACCEPT_MAX_MAPS ? h->iommu.nmaps : ACCEPT_MAX_MAPS;
	for (uint32_t i = 0; i < mem->nmaps; i++)
		mem->maps[i] = (struct accept_map){ h->iommu.maps[i].iova, h->iommu.maps[i].size,
						    h->iommu.maps[i].gpa, h->iommu.maps[i].perm };
}

void harness_activate(struct harness *h)
{
	const struct virtq_mock *g = h->guest;
	struct accept_memory mem;
	harness_accept_memory(&g->mem, &mem);
	accept_iommu(h, &mem);
	const struct accept_queue q = { .initialized = true,
					.features = g->cfg.features,
					.max_size = VIRTQ_MAX_SIZE,
					.size = g->cfg.queue_size,
					.area_heads = accept_area_heads(g->inflight_bytes),
					.desc = g->cfg.desc_gpa,
					.avail = g->cfg.avail_gpa,
					.used = g->cfg.used_gpa };
	const int geometry = accept_activate(&mem, &q);
	const int got = virtq_mock_attach(h->guest, &h->q);
	FUZZ_SAME(got, geometry, "activate against queue.h");
	FUZZ_SAME(got, model_activate(&h->model), "activate");
}
