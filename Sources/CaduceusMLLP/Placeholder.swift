enum _PlaceholderCaduceusMLLP {}
