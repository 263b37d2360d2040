"""Face crops for the realism models: one of every 6 frames of each exported video, cropped around the face.

- `sampling`: decoding every n-th frame with ffmpeg;
- `detectors`: the face detectors by name (YuNet, MTCNN, Haar);
- `crops`: the crop geometry (margin, square, clamping, the fallbacks when no face is found);
- `extract`: one video and a whole export, resumable, with the manifest.

`manage.py extract_frames EXPORT_DIR` runs it.
"""
