"""Silent audio files, so a simulated recording's URL plays in a browser like Plivo's does.

MP3: constant-bitrate MPEG-1 Layer III frames (32 kbit/s, 44.1 kHz, mono) whose side information
is all zeros: no samples coded, which every decoder plays as silence. WAV: 8 kHz 8-bit mono PCM
at its midpoint value.
"""

from __future__ import annotations

import struct

MP3_SAMPLE_RATE = 44_100
MP3_SAMPLES_PER_FRAME = 1_152
# Header: sync, MPEG-1, Layer III, no CRC | 32 kbit/s, 44.1 kHz, no padding | mono, original.
MP3_FRAME = bytes([0xFF, 0xFB, 0x10, 0xC4]) + bytes(104 - 4)  # 144 * 32000 / 44100 = 104 bytes a frame
WAV_SAMPLE_RATE = 8_000
MAX_SECONDS = 600  # what is served of a longer recording: a silent file need not be long to play

CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def silence(file_format: str, seconds: float) -> bytes:
    """`seconds` (at least one, at most MAX_SECONDS) of silence as an mp3 or wav file."""
    seconds = min(max(seconds, 1.0), MAX_SECONDS)
    if file_format == "mp3":
        frames = round(seconds * MP3_SAMPLE_RATE / MP3_SAMPLES_PER_FRAME)
        return MP3_FRAME * frames
    if file_format == "wav":
        samples = bytes([0x80]) * round(seconds * WAV_SAMPLE_RATE)
        header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE"
        header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, WAV_SAMPLE_RATE, WAV_SAMPLE_RATE, 1, 8)
        return header + b"data" + struct.pack("<I", len(samples)) + samples
    raise ValueError(f"unknown recording format {file_format!r}")
