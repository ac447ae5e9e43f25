"""The main job: the digits MLP trained by one compiled step reaches >= 0.95 test accuracy."""


def test_digits_mlp_reaches_095(demo, capsys):
    data = demo.load_data(seed=0)
    accuracy = demo.fit("mlp", [64, 128, 10], data, epochs=10, batch=32, lr=0.1, seed=0)
    assert accuracy >= 0.95, capsys.readouterr().out


def test_py_and_c_training_steps_agree(demo):
    import numpy as np
    import graphc as gc
    data = demo.load_data(seed=1)
    X, y = data[0][:64], data[2][:64]
    results = []
    for backend in ("py", "c"):
        rng = np.random.default_rng(3)
        layers = [(gc.shared(demo.glorot(rng, 64, 32)), gc.shared(np.zeros(32, "float32"))),
                  (gc.shared(demo.glorot(rng, 32, 10)), gc.shared(np.zeros(10, "float32")))]
        previous = gc.config.backend
        gc.config.backend = backend
        try:
            train, _, _ = demo.build(layers, lr=0.1)
        finally:
            gc.config.backend = previous
        losses = [float(train(X, y)) for _ in range(5)]
        results.append((losses, [v.get_value() for pair in layers for v in pair]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
