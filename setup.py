"""Build glue that setup.cfg cannot express: ship ``harness_ext_lm_eval.pth`` into site-packages.

The ``.pth`` file installs harness_ext.lm_eval_bridge's import hook at Python start-up so that
lm-eval 0.4.13 (which reads no entry points) finds the ``sparks`` model and tasks. Remove this
file once lm-eval releases the ``lm_eval.models`` / ``lm_eval.tasks`` entry-point groups.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH = "harness_ext_lm_eval.pth"


class BuildPyWithPth(build_py):
    """Copy the ``.pth`` file to the root of the wheel (it lands in site-packages)."""

    def run(self) -> None:
        super().run()
        self.copy_file(PTH, str(Path(self.build_lib) / PTH))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH)]


class EditableWheelWithPth(editable_wheel):
    """Editable installs get the same ``.pth`` file next to setuptools' own."""

    def _run_build_commands(self, dist_name, unpacked_wheel, build_lib, tmp_dir):
        # setuptools internal (>= 64): everything left in unpacked_wheel goes into the wheel
        result = super()._run_build_commands(dist_name, unpacked_wheel, build_lib, tmp_dir)
        self.copy_file(PTH, str(Path(unpacked_wheel) / PTH))
        return result


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})
