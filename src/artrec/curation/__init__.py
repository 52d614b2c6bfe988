"""MAMe curation: the medium label map, museum-record curation and dataset statistics."""
