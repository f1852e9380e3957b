"""The MedMNIST table's sanity row: scikit-learn's logistic regression on the standardized raw pixels, all training
images, official test split (what a head without any network reaches).

Usage: benches/peers/.venv-ort/bin/python benches/peers/raw_pixel_baseline.py ../shared/medmnist/bloodmnist.npz
(needs scikit-learn in that environment: `benches/peers/.venv-ort/bin/pip install scikit-learn`).
"""
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def main():
    data = np.load(sys.argv[1])
    flat = lambda split: data[f"{split}_images"].reshape(len(data[f"{split}_images"]), -1).astype(np.float64)
    x_train, x_test = flat("train"), flat("test")
    y_train, y_test = data["train_labels"].ravel(), data["test_labels"].ravel()
    scaler = StandardScaler().fit(x_train)
    start = time.perf_counter()
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(x_train), y_train)
    accuracy = model.score(scaler.transform(x_test), y_test)
    print(f"{sys.argv[1]}: {len(y_train)} train, {len(y_test)} test, {x_train.shape[1]} pixel values; "
          f"logistic regression (scikit-learn {sklearn.__version__}, lbfgs, C = 1, max_iter = 1000): "
          f"test accuracy {100 * accuracy:.2f} % in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
