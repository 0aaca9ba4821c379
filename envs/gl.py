"""Pick the MuJoCo OpenGL backend before MuJoCo is imported.

MuJoCo's Python bindings read ``MUJOCO_GL`` once, when ``mujoco`` is first imported, so this
module must run before any ``import mujoco`` (``skillstack.envs`` imports it first).

Rule (overridable: a ``MUJOCO_GL`` already set in the environment is never touched):

* an NVIDIA GPU is visible (``/dev/nvidia0`` or ``CUDA_VISIBLE_DEVICES`` naming a device) → ``egl``;
* Linux without a GPU → ``osmesa`` (Debian package ``libosmesa6``; ≈26 fps at 480×480 on 2 cores);
* macOS / Windows → left unset (MuJoCo uses its native GLFW/CGL context).

``PYOPENGL_PLATFORM`` is set to the same value when unset, as PyOpenGL needs it for headless contexts.
"""

from __future__ import annotations

import os
import sys


def _gpu_visible() -> bool:
    cuda = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cuda is not None and cuda.strip() in ("", "-1"):
        return False
    return os.path.exists("/dev/nvidia0")


def select_gl_backend() -> str | None:
    """Return the chosen ``MUJOCO_GL`` value (setting it in ``os.environ`` when unset).

    Returns:
        ``"egl"``, ``"osmesa"``, the user's own value, or ``None`` on platforms where the default
        windowed context is right.
    """
    if "MUJOCO_GL" in os.environ:
        backend = os.environ["MUJOCO_GL"]
    elif sys.platform.startswith("linux"):
        backend = "egl" if _gpu_visible() else "osmesa"
        os.environ["MUJOCO_GL"] = backend
    else:
        return None
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    return backend


MUJOCO_GL = select_gl_backend()
