/* SPDX-License-Identifier: MIT */
/*
 * virtq: device-side virtqueues for VMMs, safe against a malicious guest.
 * Umbrella header: include this one.
 */
#ifndef VIRTQ_H
#define VIRTQ_H

#include "virtq/version.h"
#include "virtq/common.h"
#include "virtq/iommu.h"
#include "virtq/log.h"
#include "virtq/mem.h"
#include "virtq/chain.h"
#include "virtq/queue.h"
#include "virtq/inflight.h"
#include "virtq/state.h"
#include "virtq/vsock.h"

#endif /* VIRTQ_H */
