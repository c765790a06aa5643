#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "strom/cluster/controller.h"

namespace strom::cluster {

/// Whether partition `p`'s replica on broker `from` may move to broker `to` with the racks of
/// its replicas kept apart: `to` has no rack, or the rack of `from`, or one none of the
/// partition's other replicas (`target`) is on.
[[nodiscard]] bool keeps_racks_apart(const cluster_view& view, const std::vector<int32_t>& target,
                                     int32_t from, int32_t to);

/// Continuous balancing by disk usage.
struct disk_balancing {
  /// The brokers are even while the one holding the most bytes holds at most this many
  /// percent more than the one holding the fewest...
  int32_t threshold_percent = 10;
  /// ...or the difference is at most this many bytes.
  int64_t min_bytes = int64_t{64} << 20;
};

/// Moves that even out the bytes the live brokers that may take replicas hold, the bytes of
/// a broker being the sum of `sizes` over the partitions it holds a replica of (or will, once
/// their moves complete), at most `room` of them. Each step takes the broker holding the most
/// and the one holding the fewest (when no step is possible between them: the fullest and
/// the others from the emptiest up, then the others from the fullest down and the emptiest,
/// each pair uneven by the same measure), and either moves one replica from the first to the
/// second
/// (when the first holds more replicas, so replica counts stay within one) or swaps a larger
/// replica of the first with a smaller one of the second; of the choices it takes the one
/// whose transfer comes closest to half the difference, and only one between a tenth and nine
/// tenths of it (so every step narrows the difference of the two by a fifth at least, and none
/// undoes another). Racks stay apart; partitions moving, or whose size is unknown, stay where they
/// are. Pure: the same input gives the same moves.
[[nodiscard]] std::vector<move_partition_cmd> disk_balancing_moves(const cluster_view& view,
                                                                   const partition_usage_map& sizes,
                                                                   const disk_balancing& opts,
                                                                   size_t room);

}  // namespace strom::cluster
