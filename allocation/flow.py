"""Integer maximum flow and feasible flow with lower bounds (Dinic), in pure Python.

The fractional assignment is a flow problem on an integer-scaled network (candidates send
exactly S units, each pair carries at most the cap, each examiner receives its load window), so
the allocation needs no LP solver: every answer here is an exact integer, and the same edge
order always gives the same flow, which makes the construction reproducible by an auditor.
"""

from __future__ import annotations

from collections import deque


class FlowNetwork:
    """A residual network; edges are numbered in insertion order, ``e ^ 1`` is the reverse."""

    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        self._adj: list[list[int]] = [[] for _ in range(nodes)]
        self._to: list[int] = []
        self._cap: list[int] = []

    def add_edge(self, u: int, v: int, capacity: int) -> int:
        """Add ``u → v`` with ``capacity``; return its edge number.

        Raises:
            ValueError: ``capacity`` is negative (a caller bug).
        """
        if capacity < 0:
            raise ValueError("capacities are non-negative")
        edge = len(self._to)
        self._to += (v, u)
        self._cap += (capacity, 0)
        self._adj[u].append(edge)
        self._adj[v].append(edge + 1)
        return edge

    def flow_on(self, edge: int) -> int:
        """Flow currently carried by ``edge`` (the residual capacity of its reverse)."""
        return self._cap[edge ^ 1]

    def residual(self, edge: int) -> int:
        return self._cap[edge]

    def max_flow(self, source: int, sink: int) -> int:
        """Augment to a maximum ``source → sink`` flow; return the value added."""
        total = 0
        while True:
            level = self._levels(source)
            if level[sink] < 0:
                return total
            total += self._blocking_flow(source, sink, level)

    def reachable(self, source: int) -> set[int]:
        """Nodes reachable from ``source`` in the residual network (one side of a min cut)."""
        return {v for v, level in enumerate(self._levels(source)) if level >= 0}

    def _levels(self, source: int) -> list[int]:
        level = [-1] * self.nodes
        level[source] = 0
        queue = deque([source])
        to, cap, adj = self._to, self._cap, self._adj
        while queue:
            u = queue.popleft()
            next_level = level[u] + 1
            for e in adj[u]:
                v = to[e]
                if cap[e] > 0 and level[v] < 0:
                    level[v] = next_level
                    queue.append(v)
        return level

    def _blocking_flow(self, source: int, sink: int, level: list[int]) -> int:
        to, cap, adj = self._to, self._cap, self._adj
        pointer = [0] * self.nodes
        total = 0
        while True:
            path: list[int] = []
            u = source
            while u != sink:
                edges = adj[u]
                i = pointer[u]
                want = level[u] + 1
                while i < len(edges):
                    e = edges[i]
                    if cap[e] > 0 and level[to[e]] == want:
                        break
                    i += 1
                pointer[u] = i
                if i < len(edges):
                    path.append(edges[i])
                    u = to[edges[i]]
                    continue
                if u == source:
                    return total
                level[u] = -1  # dead end: never enter it again in this phase
                e = path.pop()
                u = to[e ^ 1]
                pointer[u] += 1
            pushed = min(cap[e] for e in path)
            for e in path:
                cap[e] -= pushed
                cap[e ^ 1] += pushed
            total += pushed


class BoundedFlow:
    """A flow problem whose edges carry ``lower ≤ flow ≤ upper``: a feasible circulation.

    Solved by the classical reduction: each edge keeps ``upper − lower`` of capacity, the lower
    bounds become node excesses, and a super source and sink must be saturated.
    """

    def __init__(self, nodes: int) -> None:
        self.network = FlowNetwork(nodes + 2)
        self._super_source = nodes
        self._super_sink = nodes + 1
        self._excess = [0] * nodes
        self._lower: list[int] = []
        self._edges: list[int] = []
        self._excess_edges: list[tuple[int, int, int]] = []

    def add_edge(self, u: int, v: int, lower: int, upper: int) -> int:
        """Add an edge; return its handle for ``flow_on``.

        Raises:
            ValueError: the bounds do not satisfy ``0 <= lower <= upper`` (a caller bug).
        """
        if not 0 <= lower <= upper:
            raise ValueError("bounds must satisfy 0 <= lower <= upper")
        self._lower.append(lower)
        self._edges.append(self.network.add_edge(u, v, upper - lower))
        self._excess[v] += lower
        self._excess[u] -= lower
        return len(self._edges) - 1

    def solve(self) -> bool:
        """Find a flow meeting every bound; return whether one exists."""
        net = self.network
        need = 0
        for node, excess in enumerate(self._excess):
            if excess > 0:
                edge = net.add_edge(self._super_source, node, excess)
                need += excess
            elif excess < 0:
                edge = net.add_edge(node, self._super_sink, -excess)
            else:
                continue
            self._excess_edges.append((node, edge, excess))
        return net.max_flow(self._super_source, self._super_sink) == need

    def flow_on(self, handle: int) -> int:
        return self._lower[handle] + self.network.flow_on(self._edges[handle])

    def stuck_side(self) -> set[int]:
        """After a failed ``solve``: the nodes still reachable from the super source."""
        return self.network.reachable(self._super_source) - {self._super_source}

    def unmet(self) -> list[tuple[int, int]]:
        """After ``solve``: (node, units of its excess or deficit that could not be routed)."""
        out = []
        for node, edge, excess in self._excess_edges:
            missing = self.network.residual(edge)
            if missing > 0:
                out.append((node, missing if excess > 0 else -missing))
        return out
