"""Package layout (the metadata is in pyproject.toml).

The Python package lives in frontend/hfn_hls; the design card's top-level folders
(hls_templates/, rtl/, boards/, test_vectors/) stay where they are and ship inside the
package as the data packages ``hfn_hls._<folder>`` (``package_dir`` maps each name onto
its folder), so a wheel or a non-editable install carries them.  ``hfn_hls.paths`` finds
them: the repository's folders in a source tree, ``importlib.resources`` once installed.
"""
from setuptools import find_packages, setup

DATA_FOLDERS = ("hls_templates", "rtl", "boards", "test_vectors")   # = hfn_hls.paths.FOLDERS
DATA = {f"hfn_hls._{f}": f for f in DATA_FOLDERS}

setup(
    packages=find_packages("frontend") + list(DATA),
    package_dir={"": "frontend", **DATA},
    package_data={"hfn_hls": ["py.typed"], **{pkg: ["*"] for pkg in DATA}},
    include_package_data=False,
)
