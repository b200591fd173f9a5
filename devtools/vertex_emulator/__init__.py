"""Local Vertex AI emulator for offline development and tests (never imported by the library).

Start it with ``python -m devtools.vertex_emulator`` or, from Python, with
``devtools.vertex_emulator.process.VertexEmulatorProcess``. See README.md in this folder.
"""
