"""WAL: another connection (the CLI, the dashboard) reads while the agent writes and rolls up."""

from __future__ import annotations

import threading
from pathlib import Path

from yamori.records import Sample
from yamori.store.sqlite import SqliteStore

DAY = 86400
BASE = 19675 * DAY
BATCH = 60


def test_a_reader_sees_whole_batches_while_the_writer_writes_and_rolls_up(tmp_path: Path) -> None:
    now = [float(BASE)]
    writer = SqliteStore.open(tmp_path, clock=lambda: now[0])
    writer.write_samples([Sample("cpu", 0.0, {}, "", BASE - 60)])  # the series exists before reading
    reader = SqliteStore.open(tmp_path, create=False, clock=lambda: now[0])
    done = threading.Event()
    errors: list[BaseException] = []
    totals: list[int] = []

    def write() -> None:
        try:
            for hour in range(72):
                start = BASE + hour * 3600
                now[0] = start + 3600
                writer.write_samples([Sample("cpu", float(m), {}, "", start + 60 * m) for m in range(BATCH)])
                writer.maintain(now[0])
        except BaseException as err:
            errors.append(err)
        finally:
            done.set()

    def read() -> None:
        try:
            while not done.is_set() or not totals:
                # A range the 5m tier answers: maintain() moves rows from raw into it while we read.
                (series,) = reader.query("cpu", BASE - 3600, BASE + 4 * DAY, step=300)
                totals.append(sum(p.count for p in series.points))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    (final,) = reader.query("cpu", BASE - 3600, BASE + 4 * DAY, step=300)
    writer.close()
    reader.close()
    assert len(totals) > 1
    # Each query sees one snapshot: whole batches, never a row counted in two tiers or none.
    assert all((total - 1) % BATCH == 0 for total in totals)
    assert totals == sorted(totals)
    assert sum(p.count for p in final.points) == 72 * BATCH + 1
