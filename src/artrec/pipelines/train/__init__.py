"""Train: the MAMe baselines {VGG11, ResNet18} x {LR&FS, HR&VS}, each trained and evaluated."""
