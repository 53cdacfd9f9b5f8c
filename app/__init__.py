"""Runtime package of the depth-camera hand tracker.

Foundation modules at this level (joints, camera, crop geometry, data types, configuration, errors, mailboxes)
import numpy only. Sub-packages: synth (synthetic hand), tracking (find hand, crop, infer, smooth), sources,
recording, runtime (threads), gui (the only Qt code). Nothing in app/ imports torch or models/.
"""
