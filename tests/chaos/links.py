"""The network between the brokers of a chaos run, made of relays the harness owns: broker n
reaches broker m (its internal listener) through a relay of its own for that direction,
listening on a free loopback port (config/cluster's seeds rewritten to it). Each relay can be
up, down (a black hole: connections it holds are dropped, new ones are accepted and then hear
nothing until the link heals) or slow (every chunk waits before it goes on). Inter-broker
messages travel on the connection of their sender, so cutting n -> m alone is a one-way
partition: n's messages no longer reach m, m's still reach n. Loopback only; no privileges."""

import socket
import threading
import time

UP, DOWN, SLOW = "up", "down", "slow"


class Link:
    """One direction n -> m: a listening socket relaying to m's internal port."""

    def __init__(self, src, dst, target_port):
        self.src, self.dst = src, dst
        self.target_port = target_port
        self.mode = UP
        self.delay = 0.0
        self._mu = threading.Lock()
        self._conns = []  # (client socket, upstream socket or None)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode, delay=0.0):
        """Changes the link's state; going down or healing drops every connection it holds,
        so that both ends see the break and reconnect."""
        with self._mu:
            was = self.mode
            self.mode, self.delay = mode, delay
            conns = self._conns if mode != was and DOWN in (mode, was) else []
            if conns:
                self._conns = []
        for c in conns:
            _close_pair(c)

    def close(self):
        self._closed = True
        try:
            self._listener.close()
        except OSError:
            pass
        with self._mu:
            conns, self._conns = self._conns, []
        for c in conns:
            _close_pair(c)

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._mu:
                mode = self.mode
            if mode == DOWN:
                with self._mu:
                    self._conns.append((client, None))  # held, silent, until the link heals
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()  # the broker is down: as a refused connection
                continue
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, upstream)
            with self._mu:
                self._conns.append(pair)
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(self, a, b, pair):
        try:
            while True:
                data = a.recv(1 << 16)
                if not data:
                    break
                with self._mu:
                    mode, delay = self.mode, self.delay
                if mode == SLOW and delay > 0:
                    time.sleep(delay)
                b.sendall(data)
        except OSError:
            pass
        _close_pair(pair)
        with self._mu:
            if pair in self._conns:
                self._conns.remove(pair)


def _close_pair(pair):
    for s in pair:
        if s is None:
            continue
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


class Network:
    """Every link of a cluster, by (src, dst)."""

    def __init__(self):
        self.links = {}

    def port_for(self, src, dst, target_port):
        """The port `src` reaches `dst` at (Cluster's seed_port hook): a relay to `target_port`."""
        link = self.links.get((src, dst))
        if link is None:
            link = self.links[(src, dst)] = Link(src, dst, target_port)
        link.target_port = target_port
        return link.port

    def cut(self, src, dst):
        self.links[(src, dst)].set(DOWN)

    def slow(self, node, delay):
        for (s, d), link in self.links.items():
            if node in (s, d):
                link.set(SLOW, delay)

    def isolate(self, node):
        for (s, d), link in self.links.items():
            if node in (s, d):
                link.set(DOWN)

    def heal(self):
        for link in self.links.values():
            if link.mode != UP:
                link.set(UP)

    def close(self):
        for link in self.links.values():
            link.close()
