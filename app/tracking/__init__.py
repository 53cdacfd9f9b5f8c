"""Tracking: find the hand, crop, infer (the only onnxruntime user), post-process, smooth. No threads, no Qt."""
