<?php
require __DIR__ . '/common.php';
answer('vault');
