"""Tracking: find the hand, crop, infer (the only onnxruntime user), post-process, smooth. No Qt; one thread of its
own (the tracker's helper that looks for a second hand beside the network run)."""
