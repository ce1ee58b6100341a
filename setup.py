from setuptools import setup

setup(cffi_modules=["labkit/native/_build.py:ffibuilder"])
