#!/usr/bin/env python3
"""xw_protocol_check.py — a model of mixed128-wait2/3.patch's consumer loop (templates/mixed.cu DS_XSTAGE with DS_XW
wgmma groups in flight over DS_XSETS register sets) and its producer, checked for H = 1..79 stages a block: every step
reads the set holding its own codes, no set is converted into while a group that reads it may run, no stage is
released while its wgmmas may run, and the producer never waits on a stage that is never released (no deadlock).
A translation of the macros, not the kernel: the GPU tests (run-s113t.sh) check the kernel itself.

    python3 bench/proto/xw_protocol_check.py
"""
def run(H, STAGES, XW):
    XSETS = 2 if XW == 1 else 4
    events = []  # sequence of consumer steps as (h, set, stage, last)
    h = 0
    steps = []
    if STAGES % 2 == 0:
        while h + STAGES < H:
            for u in range(STAGES):
                steps.append((h + u, u % XSETS, False))
            h += STAGES
    while h + XSETS - 1 < H:
        for u in range(XSETS):
            steps.append((h + u, u, h + u + 1 >= H))
        h += XSETS
    if XSETS == 4 and H - h == 3:
        steps += [(h, 0, False), (h + 1, 1, False), (h + 2, 2, True)]
    elif XSETS == 4 and H - h == 2:
        steps += [(h, 0, False), (h + 1, 1, True)]
    elif H - h == 1:
        steps += [(h, 0, True)]
    assert [s[0] for s in steps] == list(range(H)), (H, steps)
    assert all(s[1] == s[0] % XSETS for s in steps), "set index continuity"
    assert all(s[2] == (s[0] == H - 1) for s in steps), "last flags"
    # simulate: set contents, in-flight groups, releases
    setsrc = {0: 0}          # set -> step whose codes it holds (step 0 converted before the loop)
    inflight = []            # steps whose wgmmas may run
    released = set()
    for (hh, A, last) in steps:
        assert setsrc.get(A) == hh, f"step {hh} reads set {A} holding {setsrc.get(A)}"
        inflight.append(hh)
        if not last:
            # wait_group XW: at most XW groups pending
            while len(inflight) > XW: inflight.pop(0)
            B = (A + 1) % XSETS
            for g in inflight:
                assert g % XSETS != B, f"set {B} written while step {g} in flight"
            if hh >= XW:
                r = hh - XW
                assert r not in inflight, "stage released while its wgmmas run"
                released.add(r)
            # full wait for step hh+1: producer must have issued it: needs release of hh+1-STAGES
            need = hh + 1 - STAGES
            assert need < 0 or need in released, f"deadlock: step {hh+1} needs release of {need}"
            setsrc[B] = hh + 1
    return True
for XW in (1, 2, 3):
    for STAGES in (4, 6, 8):
        if STAGES <= XW + 1 or STAGES % (2 if XW == 1 else 4): continue
        for H in range(1, 80):
            run(H, STAGES, XW)
print("ok")
