# Writes h5py-tiny-angular.hdf5 the way ann-benchmarks' write_output does (h5py; numpy's dtype=int and dtype=float
# give int64 neighbors and float64 distances), so the tests read a file from the real writer, not only PureHDF's.
# Needs python3-h5py (Debian). Run from this folder: python3 make_h5py_fixture.py
import h5py
import numpy as np

train = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0.5, -2, 0.25]], dtype=np.float32)
test = np.array([[2, 0.1, 0], [0, 0.5, 1]], dtype=np.float32)
neighbors = [[0, 3, 4], [2, 1, 3]]  # by 1 - cosine similarity, nearest first
distances = [[0.0012, 0.2585, 0.8076], [0.1056, 0.5528, 0.6838]]  # 1 - cosine, rounded to 4 places
with h5py.File("h5py-tiny-angular.hdf5", "w") as f:
    f.attrs["type"] = "dense"
    f.attrs["distance"] = "angular"
    f.attrs["dimension"] = 3
    f.attrs["point_type"] = "float"
    f.create_dataset("train", data=train)
    f.create_dataset("test", data=test)
    f.create_dataset("neighbors", (2, 3), dtype=int)[:] = neighbors
    f.create_dataset("distances", (2, 3), dtype=float)[:] = distances
