"""Tate: the poster's four systems {simple CNN, ResNet18, ResNet18 (aug, frozen), multi-binary}."""
