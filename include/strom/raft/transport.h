#pragma once

#include "strom/raft/message.h"

namespace strom::raft {

/// The network seam of Raft (raft-design §6.3): what the runtime that drives `node`s hands the
/// messages of each `ready` to. Delivery is best effort: a message may be dropped, delayed,
/// duplicated or reordered, and the core recovers from each (it retries on ticks and answers).
/// What arrives goes to the addressed group's `node::step`. Implementations: the simulator's
/// network (tests/sim), and the inter-broker transport over the internal listener.
class transport {
 public:
  virtual ~transport() = default;
  /// Queues `m` for node `m.to`. Never blocks; never calls back into the sender's node.
  virtual void send(const message& m) = 0;
};

}  // namespace strom::raft
