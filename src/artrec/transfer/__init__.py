"""The transfer-learning study (Sabatelli et al. 2018): challenges, network inputs, the training
protocol (off the shelf, fine tuning, from scratch) and the cross-collection transfer."""
