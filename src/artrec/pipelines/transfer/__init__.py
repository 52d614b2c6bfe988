"""Transfer learning for art: off the shelf vs fine tuning, theta vs theta-hat, VisualBackProp."""
