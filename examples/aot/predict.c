/* Classify handwritten digits with the graphc-compiled MLP, from plain C: no Python at run time.
 *
 * Usage: predict DIGITS.txt, where each line holds an image's true label and then its 64 pixel intensities (0-16,
 * an 8x8 image row by row). Prints one line per image: the true label, the predicted digit, and the probability the
 * model gives it; then the accuracy. The library comes from
 *     graphc compile examples/model_digits.py:trained --bake-weights --name digits --out DIR
 * and digits.h (in DIR) documents its entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"

#define MAX_IMAGES 4096
#define PIXELS 64

static float pixels[MAX_IMAGES][PIXELS];
static int labels[MAX_IMAGES];

static int read_images(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) { perror(path); return -1; }
    int n = 0;
    while (n < MAX_IMAGES && fscanf(file, "%d", &labels[n]) == 1) {
        for (int p = 0; p < PIXELS; ++p)
            if (fscanf(file, "%f", &pixels[n][p]) != 1) { fprintf(stderr, "%s: image %d is short\n", path, n); fclose(file); return -1; }
        ++n;
    }
    fclose(file);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s DIGITS.txt\n", argv[0]); return 2; }
    int n = read_images(argv[1]);
    if (n < 0) return 1;

    /* One descriptor per input (with --bake-weights, only the images): shape and strides in elements. */
    gc_array inputs[DIGITS_N_INPUTS];
    memset(inputs, 0, sizeof inputs);
    inputs[DIGITS_INPUT_PIXELS] = (gc_array){ .data = (char *)pixels, .ndim = 2,
                                              .shape = { n, PIXELS }, .strides = { PIXELS, 1 } };
    gc_array outputs[DIGITS_N_OUTPUTS];
    memset(outputs, 0, sizeof outputs);  /* zeroed: the library allocates the results */
    gc_status status;
    if (graphc_run(&status, inputs, outputs) != GC_OK) {
        fprintf(stderr, "graphc_run failed: %s\n", status.message);
        return 1;
    }

    const int64_t *digit = (const int64_t *)outputs[DIGITS_OUTPUT_DIGIT].data;         /* int64, shape (n,) */
    const float *probability = (const float *)outputs[DIGITS_OUTPUT_PROBABILITIES].data; /* float32, (n, 10) */
    int64_t classes = outputs[DIGITS_OUTPUT_PROBABILITIES].shape[1];
    int correct = 0;
    for (int i = 0; i < n; ++i) {
        printf("%d %lld %.6f\n", labels[i], (long long)digit[i], probability[i * classes + digit[i]]);
        correct += digit[i] == labels[i];
    }
    printf("accuracy %d/%d\n", correct, n);
    for (int k = 0; k < DIGITS_N_OUTPUTS; ++k)
        if (outputs[k].owned) free(outputs[k].data);
    return 0;
}
