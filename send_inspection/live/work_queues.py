"""Make the work pool's queues as the phase catalogue declares them, each with its priority."""

from __future__ import annotations

import sys

from prefect.client.orchestration import get_client

from send_inspection.catalogue.phases import WORK_QUEUES, WorkQueue


def ensure_work_queues(pool: str, queues: tuple[WorkQueue, ...] = WORK_QUEUES) -> dict[str, int]:
    """Create each declared queue missing from `pool` and set each one's priority; return every queue's priority."""
    with get_client(sync_client=True) as client:
        for queue in queues:
            found = {q.name: q for q in client.read_work_queues(work_pool_name=pool)}
            if queue.name not in found:
                client.create_work_queue(name=queue.name, work_pool_name=pool, priority=queue.priority,
                                         description=queue.why)
            elif found[queue.name].priority != queue.priority:
                client.update_work_queue(found[queue.name].id, priority=queue.priority)
        return {q.name: q.priority for q in client.read_work_queues(work_pool_name=pool)}


if __name__ == "__main__":  # scripts/pool.sh: python -m send_inspection.live.work_queues <pool>
    priorities = ensure_work_queues(sys.argv[1])
    print(", ".join(f"{name} {priority}" for name, priority in sorted(priorities.items(), key=lambda kv: kv[1])))
